package rill.oracle;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.KeyValueMapper;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KGroupedTable;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.SessionWindowedKStream;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.SlidingWindows;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindowedKStream;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.ValueJoiner;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.SessionStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The oracle's topology families, built from a case's params with Kafka Streams' DSL. Each
 * mirrors the Go side's builder in internal/oracle (family.go): same inputs, same functions,
 * output topic "out" with String keys. build returns the output value type: "string" or
 * "long".
 */
final class Families {
  private Families() {}

  static String build(String family, JsonNode p, StreamsBuilder b) {
    emitFinal = "winagg".equals(family) && "emit".equals(p.path("final").asText());
    cache = p.path("cache").asBoolean();
    switch (family) {
      case "ssjoin":
        return streamStreamJoin(p, b);
      case "winagg":
        return windowedAggregation(p, b);
      case "tableagg":
        return tableAggregation(p, b);
      case "stjoin":
        return streamTableJoin(p, b);
      case "ttjoin":
        return tableTableJoin(p, b);
      case "fkjoin":
        return foreignKeyJoin(p, b);
      case "tablesrc":
        return tableSource(p, b);
      case "sgjoin":
        return streamGlobalJoin(p, b);
      case "repart":
        return repartition(p, b);
      case "vtable":
        return versionedTable(p, b);
      default:
        throw new IllegalArgumentException("unknown family " + family);
    }
  }

  /**
   * emitFinal says whether the case is an emit-final aggregation: Kafka Streams 4.1.1
   * forwards no emit-final result at all from a window or session store without a record
   * cache (withCachingDisabled or statestore.cache.max.bytes=0; seen in TopologyTestDriver),
   * so those stores keep their cache. Emit-final forwards only final results, which the cache
   * does not change.
   */
  static boolean emitFinal;

  /**
   * cache says whether the case runs with the record cache on (the "cached" family): window
   * and session stores then keep Kafka Streams' default caching, as rill's windowed
   * aggregations do, and the outputs are compared on the driver's commits (after every
   * record).
   */
  static boolean cache;

  // The stores of windowed aggregations are materialized without a record cache unless the
  // case runs with the cache on, so that the oracle compares every update forwarded.
  static <V> Materialized<String, V, WindowStore<Bytes, byte[]>> windowStore(Serde<V> vs) {
    Materialized<String, V, WindowStore<Bytes, byte[]>> m =
        Materialized.<String, V, WindowStore<Bytes, byte[]>>with(Serdes.String(), vs);
    return emitFinal || cache ? m : m.withCachingDisabled();
  }

  static <V> Materialized<String, V, SessionStore<Bytes, byte[]>> sessionStore(Serde<V> vs) {
    Materialized<String, V, SessionStore<Bytes, byte[]>> m =
        Materialized.<String, V, SessionStore<Bytes, byte[]>>with(Serdes.String(), vs);
    return emitFinal || cache ? m : m.withCachingDisabled();
  }

  static <V> Materialized<String, V, KeyValueStore<Bytes, byte[]>> kvStore(Serde<V> vs) {
    return Materialized.<String, V, KeyValueStore<Bytes, byte[]>>with(Serdes.String(), vs)
        .withCachingDisabled();
  }

  static Duration ms(JsonNode p, String field) {
    return Duration.ofMillis(p.path(field).asLong());
  }

  // joined renders a join result; Java's string concatenation writes a missing side as "null".
  static final ValueJoiner<String, String, String> JOINED = (a, c) -> a + "+" + c;

  static String streamStreamJoin(JsonNode p, StreamsBuilder b) {
    KStream<String, String> l = b.stream("left");
    KStream<String, String> r = b.stream("right");
    JoinWindows w =
        p.path("grace").asLong() < 0
            ? JoinWindows.ofTimeDifferenceWithNoGrace(ms(p, "diff"))
            : JoinWindows.ofTimeDifferenceAndGrace(ms(p, "diff"), ms(p, "grace"));
    if (p.has("before")) {
      w = w.before(ms(p, "before"));
    }
    if (p.has("after")) {
      w = w.after(ms(p, "after"));
    }
    KStream<String, String> j;
    switch (p.path("kind").asText()) {
      case "inner":
        j = l.join(r, JOINED, w);
        break;
      case "left":
        j = l.leftJoin(r, JOINED, w);
        break;
      case "outer":
        j = l.outerJoin(r, JOINED, w);
        break;
      default:
        throw new IllegalArgumentException("join kind " + p.path("kind"));
    }
    j.to("out");
    return "string";
  }

  static String windowedAggregation(JsonNode p, StreamsBuilder b) {
    KGroupedStream<String, String> g = b.<String, String>stream("in").groupByKey();
    String agg = p.path("agg").asText();
    boolean emitFinal = "emit".equals(p.path("final").asText());
    boolean suppress = "suppress".equals(p.path("final").asText());
    long grace = p.path("grace").asLong();
    KTable<Windowed<String>, ?> t;
    String kind = p.path("window").asText();
    if ("session".equals(kind)) {
      SessionWindows w =
          grace < 0
              ? SessionWindows.ofInactivityGapWithNoGrace(ms(p, "gap"))
              : SessionWindows.ofInactivityGapAndGrace(ms(p, "gap"), ms(p, "grace"));
      SessionWindowedKStream<String, String> s = g.windowedBy(w);
      if (emitFinal) {
        s = s.emitStrategy(EmitStrategy.onWindowClose());
      }
      switch (agg) {
        case "count":
          t = s.count(sessionStore(Serdes.Long()));
          break;
        case "reduce":
          t = s.reduce((a, v) -> a + "," + v, sessionStore(Serdes.String()));
          break;
        default:
          t =
              s.aggregate(
                  () -> "^",
                  (k, v, a) -> a + v,
                  (k, a1, a2) -> a1 + "|" + a2,
                  sessionStore(Serdes.String()));
      }
    } else {
      TimeWindowedKStream<String, String> s;
      if ("sliding".equals(kind)) {
        s =
            g.windowedBy(
                grace < 0
                    ? SlidingWindows.ofTimeDifferenceWithNoGrace(ms(p, "size"))
                    : SlidingWindows.ofTimeDifferenceAndGrace(ms(p, "size"), ms(p, "grace")));
      } else {
        TimeWindows w =
            grace < 0
                ? TimeWindows.ofSizeWithNoGrace(ms(p, "size"))
                : TimeWindows.ofSizeAndGrace(ms(p, "size"), ms(p, "grace"));
        if ("hopping".equals(kind)) {
          w = w.advanceBy(ms(p, "advance"));
        }
        s = g.windowedBy(w);
      }
      if (emitFinal) {
        s = s.emitStrategy(EmitStrategy.onWindowClose());
      }
      switch (agg) {
        case "count":
          t = s.count(windowStore(Serdes.Long()));
          break;
        case "reduce":
          t = s.reduce((a, v) -> a + "," + v, windowStore(Serdes.String()));
          break;
        default:
          t =
              s.aggregate(
                  () -> "^", (k, v, a) -> a + v, windowStore(Serdes.String()));
      }
    }
    if (suppress) {
      t = suppressed(t);
    }
    if ("count".equals(agg)) {
      @SuppressWarnings("unchecked")
      KTable<Windowed<String>, Long> c = (KTable<Windowed<String>, Long>) t;
      c.toStream((wk, v) -> windowKey(wk)).to("out", Produced.with(Serdes.String(), Serdes.Long()));
      return "long";
    }
    @SuppressWarnings("unchecked")
    KTable<Windowed<String>, String> s = (KTable<Windowed<String>, String>) t;
    s.toStream((wk, v) -> windowKey(wk)).to("out");
    return "string";
  }

  static <V> KTable<Windowed<String>, V> suppressed(KTable<Windowed<String>, V> t) {
    return t.suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()));
  }

  static String windowKey(Windowed<String> wk) {
    return wk.key() + "@" + wk.window().start() + "/" + wk.window().end();
  }

  // tableAggregation groups a table of values "<group letter><digit>" by the letter and
  // aggregates the digits.
  static String tableAggregation(JsonNode p, StreamsBuilder b) {
    KTable<String, String> t = b.table("in");
    KGroupedTable<String, Long> g =
        t.groupBy(
            (k, v) ->
                KeyValue.pair(
                    v.startsWith("n") ? null : v.substring(0, 1), Long.parseLong(v.substring(1))),
            Grouped.with(Serdes.String(), Serdes.Long()));
    KTable<String, Long> r;
    switch (p.path("agg").asText()) {
      case "count":
        r = g.count(kvStore(Serdes.Long()));
        break;
      case "reduce":
        r = g.reduce((a, v) -> a + v, (a, v) -> a - v, kvStore(Serdes.Long()));
        break;
      default:
        r =
            g.aggregate(
                () -> 0L,
                (k, v, a) -> a + v,
                (k, v, a) -> a - v,
                kvStore(Serdes.Long()));
    }
    r.toStream().to("out", Produced.with(Serdes.String(), Serdes.Long()));
    return "long";
  }

  static String streamTableJoin(JsonNode p, StreamsBuilder b) {
    KStream<String, String> s = b.stream("left");
    KTable<String, String> t = b.table("right");
    ("left".equals(p.path("kind").asText()) ? s.leftJoin(t, JOINED) : s.join(t, JOINED)).to("out");
    return "string";
  }

  /** versionedTable mirrors family.go's versionedTable (KIP-889, KIP-914, KIP-923). */
  static String versionedTable(JsonNode p, StreamsBuilder b) {
    Materialized<String, String, KeyValueStore<Bytes, byte[]>> v =
        Materialized.as(
            Stores.persistentVersionedKeyValueStore(
                "versioned-store", Duration.ofMillis(p.path("diff").asLong())));
    switch (p.path("kind").asText()) {
      case "src":
        b.table("in", v).toStream().to("out");
        break;
      case "tt":
        b.<String, String>table("left", v).join(b.<String, String>table("right"), JOINED).toStream().to("out");
        break;
      case "filter":
        b.<String, String>table("in").filter((k, x) -> keep(x), v).toStream().to("out");
        break;
      case "mapv":
        b.<String, String>table(
                "in",
                Materialized.<String, String>as(
                    Stores.persistentVersionedKeyValueStore(
                        "in-store", Duration.ofMillis(p.path("diff").asLong()))))
            .mapValues(x -> x + "!", v)
            .toStream()
            .to("out");
        break;
      case "ttv":
        b.<String, String>table("left").leftJoin(b.<String, String>table("right"), JOINED, v).toStream().to("out");
        break;
      default:
        KStream<String, String> s = b.stream("left");
        KTable<String, String> t = b.table("right", v);
        Joined<String, String, String> joined = Joined.as("vjoin");
        if (p.path("grace").asLong() >= 0) {
          joined = joined.withGracePeriod(Duration.ofMillis(p.path("grace").asLong()));
        }
        ("left".equals(p.path("kind").asText()) ? s.leftJoin(t, JOINED, joined) : s.join(t, JOINED, joined)).to("out");
    }
    return "string";
  }

  // keep is the filter of filtered table joins: values whose last character is an even digit.
  static boolean keep(String v) {
    return (v.charAt(v.length() - 1) - '0') % 2 == 0;
  }

  static String tableTableJoin(JsonNode p, StreamsBuilder b) {
    KTable<String, String> l = b.table("left");
    KTable<String, String> r = b.table("right");
    if (p.path("filter").asBoolean()) {
      l = l.filter((k, v) -> keep(v));
    }
    KTable<String, String> j;
    switch (p.path("kind").asText()) {
      case "inner":
        j = l.join(r, JOINED);
        break;
      case "left":
        j = l.leftJoin(r, JOINED);
        break;
      default:
        j = l.outerJoin(r, JOINED);
    }
    j.toStream().to("out");
    return "string";
  }

  // foreignKeyJoin joins left values "<fk>|<payload>" with the right table keyed by fk.
  static String foreignKeyJoin(JsonNode p, StreamsBuilder b) {
    KTable<String, String> l = b.table("left");
    KTable<String, String> r = b.table("right");
    java.util.function.Function<String, String> fk = v -> v.substring(0, v.indexOf('|'));
    KTable<String, String> j =
        "left".equals(p.path("kind").asText()) ? l.leftJoin(r, fk, JOINED) : l.join(r, fk, JOINED);
    j.toStream().to("out");
    return "string";
  }

  // tableSource is a table of longs read back as a stream: deletes are tombstones.
  static String tableSource(JsonNode p, StreamsBuilder b) {
    KTable<String, String> t = b.table("in");
    KTable<String, Long> n = t.mapValues(v -> (long) v.length());
    if (p.path("filter").asBoolean()) {
      n = n.filter((k, v) -> v % 2 == 0);
    }
    n.toStream().to("out", Produced.with(Serdes.String(), Serdes.Long()));
    return "long";
  }

  // globalKey is the key mapper of stream-global joins: the stream key, or with "filter" a key
  // "a".."d" picked by the value's number (null for a null value).
  static String globalKey(JsonNode p, String k, String v) {
    if (!p.path("filter").asBoolean()) {
      return k;
    }
    return v == null ? null : String.valueOf("abcd".charAt(Integer.parseInt(v.substring(1)) % 4));
  }

  // streamGlobalJoin joins the left stream with the global table on "right".
  static String streamGlobalJoin(JsonNode p, StreamsBuilder b) {
    KStream<String, String> s = b.stream("left");
    GlobalKTable<String, String> g = b.globalTable("right");
    KeyValueMapper<String, String, String> keyOf = (k, v) -> globalKey(p, k, v);
    KStream<String, String> j =
        "left".equals(p.path("kind").asText())
            ? s.leftJoin(g, keyOf, JOINED)
            : s.join(g, keyOf, JOINED);
    j.to("out");
    return "string";
  }

  // repartition groups values "<group letter><digit>" by their letter (null for a null value)
  // through a repartition topic: selectKey then groupByKey, or groupBy; then counts or reduces.
  static String repartition(JsonNode p, StreamsBuilder b) {
    KStream<String, String> s = b.stream("in");
    KeyValueMapper<String, String, String> grp = (k, v) -> v == null ? null : v.substring(0, 1);
    KGroupedStream<String, String> g =
        "groupby".equals(p.path("kind").asText())
            ? s.groupBy(grp)
            : s.selectKey(grp).groupByKey();
    if ("count".equals(p.path("agg").asText())) {
      g.count().toStream().to("out", Produced.with(Serdes.String(), Serdes.Long()));
      return "long";
    }
    g.reduce((a, v) -> a + "," + v).toStream().to("out");
    return "string";
  }
}
