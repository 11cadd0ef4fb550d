package rill.oracle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.BuiltInDslStoreSuppliers;
import org.apache.kafka.streams.test.TestRecord;

/**
 * The Kafka Streams side of rill's differential oracle. It reads one case per line on stdin (a
 * JSON object: id, family, params, inputs), builds the family's topology with Kafka Streams'
 * DSL, pipes the inputs through a TopologyTestDriver and writes one line per case on stdout:
 * {"id":..., "output":[{"topic","key","value","ts"}...]} or {"id":..., "error":...}. One JVM
 * serves a whole run, so the Go driver pays the JVM start once.
 */
public final class Main {
  static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
    PrintStream out =
        new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) {
        continue;
      }
      ObjectNode res = JSON.createObjectNode();
      try {
        JsonNode c = JSON.readTree(line);
        res.put("id", c.path("id").asText());
        res.set("output", run(c));
      } catch (Throwable e) {
        StringBuilder msg = new StringBuilder(String.valueOf(e));
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
          msg.append(" <- ").append(t);
        }
        res.put("error", msg.toString());
      }
      out.println(JSON.writeValueAsString(res));
      out.flush();
    }
  }

  static final String STATE_DIR = stateDir();

  static String stateDir() {
    try {
      java.nio.file.Path d = Files.createTempDirectory("rill-oracle-");
      d.toFile().deleteOnExit();
      return d.toString();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static ArrayNode run(JsonNode c) {
    StreamsBuilder b = new StreamsBuilder();
    JsonNode p = c.path("params");
    String valueType = Families.build(c.path("family").asText(), p, b);

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "oracle");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    // A state directory of this process's own: two oracle runs at once (two worktrees, or a
    // make oracle next to make test-oracle) shared /tmp/kafka-streams/oracle and failed on
    // each other's RocksDB files.
    props.put(StreamsConfig.STATE_DIR_CONFIG, STATE_DIR);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    // rill's streamstest has no record cache: every update reaches downstream, so compare with
    // Kafka Streams' cache off.
    // (Emit-final aggregations keep theirs: see Families.emitFinal.)
    // A case with "cache" keeps Kafka Streams' default (10 MiB), as rill's side does.
    if (!Families.emitFinal && !p.path("cache").asBoolean()) {
      props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0L);
    }
    // Kafka Streams throttles emit-final results and left/outer join results by wall-clock time
    // (1s by default); TopologyTestDriver's clock stands still, so the throttle would hold
    // results back forever. rill emits them as soon as stream time allows: compare with none.
    props.put(StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_WINDOWED_AGGREGATION, 0L);
    props.put(StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_OUTER_JOIN_SPURIOUS_RESULTS_FIX, 0L);
    // Emit-final session aggregations forward nothing from in-memory stores in Kafka Streams
    // 4.1.1 (seen in TopologyTestDriver): they run on RocksDB, Kafka Streams' default.
    if (!Families.emitFinal && !"rocksdb".equals(p.path("store").asText("memory"))) {
      props.put(
          StreamsConfig.DSL_STORE_SUPPLIERS_CLASS_CONFIG,
          BuiltInDslStoreSuppliers.InMemoryDslStoreSuppliers.class);
    }

    ArrayNode output = JSON.createArrayNode();
    try (TopologyTestDriver d = new TopologyTestDriver(b.build(), props, Instant.EPOCH)) {
      Map<String, TestInputTopic<String, String>> inputs = new HashMap<>();
      Deserializer<?> vd =
          "long".equals(valueType)
              ? Serdes.Long().deserializer()
              : new StringDeserializer();
      TestOutputTopic<String, ?> out = d.createOutputTopic("out", new StringDeserializer(), vd);
      for (JsonNode r : c.path("inputs")) {
        String topic = r.path("topic").asText();
        TestInputTopic<String, String> in =
            inputs.computeIfAbsent(
                topic, t -> d.createInputTopic(t, new StringSerializer(), new StringSerializer()));
        in.pipeInput(
            new TestRecord<>(
                text(r.get("key")),
                text(r.get("value")),
                null,
                Instant.ofEpochMilli(r.path("ts").asLong())));
        drain(out, output);
      }
      drain(out, output);
    }
    return output;
  }

  static void drain(TestOutputTopic<String, ?> out, ArrayNode into) {
    while (!out.isEmpty()) {
      TestRecord<String, ?> r = out.readRecord();
      ObjectNode o = into.addObject();
      o.put("topic", "out");
      o.put("key", r.key());
      o.put("value", r.value() == null ? null : String.valueOf(r.value()));
      o.put("ts", r.timestamp());
    }
  }

  static String text(JsonNode n) {
    return n == null || n.isNull() ? null : n.asText();
  }
}
