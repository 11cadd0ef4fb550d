package rill.bench.kstreams;

import java.time.Duration;
import java.util.Locale;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The workloads of cmd/rill-bench (topologies.go), written as a Kafka Streams user would: the
 * same topics, serdes (4-byte big-endian integer keys, byte-array values, 8-byte counts,
 * Kafka's time-windowed keys, the same JSON), windows and grace periods.
 *
 * <p>Where a workload ends in an operation whose results Kafka Streams' record cache holds
 * (the counts and the table-table join), a counting node in front of it calls
 * {@code context.commit()} when the last input record goes through, so that the cache is
 * flushed then and not at the next commit interval (30 s at least once): the end of a bounded
 * run. Kafka Streams commits every task on such a request.
 */
final class Workloads {
    /** SimpleBenchmark's grace period for windowed operations (see topologies.go). */
    static final Duration GRACE = Duration.ofHours(24);

    static final Duration JOIN_WINDOW = Duration.ofSeconds(10);
    static final Duration YAHOO_WINDOW = Duration.ofSeconds(10);
    static final long MIN_AMOUNT = 2000;

    private static final Serde<Integer> INT = Serdes.Integer();
    private static final Serde<byte[]> BYTES = Serdes.ByteArray();

    private Workloads() {}

    static Topology build(Spec s, Progress p) {
        StreamsBuilder b = new StreamsBuilder();
        String in = s.topic("in");
        String right = s.topic("right");
        String out = s.topic("out");
        switch (s.workload()) {
            case "streamprocess" -> source(b, in).foreach((k, v) -> p.add());
            case "streamprocesswithsink" ->
                source(b, in).peek((k, v) -> {}).to(out, Produced.with(INT, BYTES));
            case "streamprocesswithstatestore" -> {
                // Stores.keyValueStoreBuilder: logged, not cached (the builder's defaults).
                b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("store"), INT, BYTES));
                source(b, in).process(() -> new KeyValueStoreProcessor(p), "store");
            }
            case "streamprocesswithwindowstore" -> {
                b.addStateStore(Stores.windowStoreBuilder(
                        Stores.persistentWindowStore("store", Duration.ofSeconds(3), Duration.ofSeconds(1), false),
                        INT, BYTES));
                source(b, in).process(() -> new WindowStoreProcessor(p), "store");
            }
            case "streamcount" ->
                source(b, in).processValues(() -> new CommitAtEnd<Integer, byte[]>(p))
                        .groupByKey(Grouped.with(INT, BYTES))
                        .count()
                        .toStream()
                        .to(out, Produced.with(INT, Serdes.Long()));
            case "streamcountwindowed" ->
                source(b, in).processValues(() -> new CommitAtEnd<Integer, byte[]>(p))
                        .groupByKey(Grouped.with(INT, BYTES))
                        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofSeconds(1), GRACE)
                                .advanceBy(Duration.ofMillis(500)))
                        .count()
                        .toStream()
                        .to(out, Produced.with(WindowedSerdes.timeWindowedSerdeFrom(Integer.class, 1000), Serdes.Long()));
            case "streamtablejoin" -> {
                KTable<Integer, byte[]> table = b.table(right, Consumed.with(INT, BYTES));
                source(b, in).leftJoin(table, (v, tv) -> v).to(out, Produced.with(INT, BYTES));
            }
            case "streamstreamjoin" ->
                source(b, in).join(source(b, right), (v, ov) -> v,
                                JoinWindows.ofTimeDifferenceAndGrace(JOIN_WINDOW, GRACE),
                                StreamJoined.with(INT, BYTES, BYTES))
                        .to(out, Produced.with(INT, BYTES));
            case "tabletablejoin" -> {
                // stream().toTable() is builder.table() with room for the counting node: a
                // materialized, cached, logged table of the topic.
                KTable<Integer, byte[]> left = cachedTable(b, in, p);
                KTable<Integer, byte[]> other = cachedTable(b, right, p);
                left.outerJoin(other, (v, ov) -> v != null ? v : ov)
                        .toStream()
                        .to(out, Produced.with(INT, BYTES));
            }
            case "yahoo" -> yahoo(b, s, p);
            case "jsonpipeline" ->
                b.stream(in, Consumed.with(INT, JsonSerde.of(Records.Order.class)))
                        .filter((k, o) -> o.amount() >= MIN_AMOUNT)
                        .mapValues(o -> new Records.Charge(o.id(), o.customer(), o.amount() * 120 / 100,
                                o.currency().toUpperCase(Locale.ROOT)))
                        .to(out, Produced.with(INT, JsonSerde.of(Records.Charge.class)));
            default -> throw new IllegalArgumentException("no Kafka Streams topology for " + s.workload());
        }
        return b.build();
    }

    private static KStream<Integer, byte[]> source(StreamsBuilder b, String topic) {
        return b.stream(topic, Consumed.with(INT, BYTES));
    }

    private static KTable<Integer, byte[]> cachedTable(StreamsBuilder b, String topic, Progress p) {
        return source(b, topic)
                .processValues(() -> new CommitAtEnd<Integer, byte[]>(p))
                .toTable(Materialized.<Integer, byte[], KeyValueStore<Bytes, byte[]>>with(INT, BYTES));
    }

    /**
     * The Yahoo streaming benchmark, as topologies.go: views only, each ad's campaign from the
     * campaigns table (left join, "unknown" when missing), views per campaign in 10 s tumbling
     * windows. groupBy(campaign) is written as selectKey + repartition + groupByKey (what
     * groupBy does) so that the counting node sits after the repartition topic.
     */
    private static void yahoo(StreamsBuilder b, Spec s, Progress p) {
        KTable<String, String> campaigns = b.table(s.topic("campaigns"), Consumed.with(Serdes.String(), Serdes.String()));
        b.stream(s.topic("in"), Consumed.with(Serdes.String(), JsonSerde.of(Records.YahooEvent.class)))
                .filter((ad, e) -> "view".equals(e.eventType()))
                .leftJoin(campaigns, (e, campaign) -> campaign == null ? "unknown" : campaign)
                .selectKey((ad, campaign) -> campaign)
                .repartition(Repartitioned.with(Serdes.String(), Serdes.String()))
                .processValues(() -> new CommitAtEnd<String, String>(p))
                .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
                .windowedBy(TimeWindows.ofSizeAndGrace(YAHOO_WINDOW, GRACE))
                .count()
                .toStream()
                .to(s.topic("out"), Produced.with(
                        WindowedSerdes.timeWindowedSerdeFrom(String.class, YAHOO_WINDOW.toMillis()), Serdes.Long()));
    }

    /** Counts the records going into a cached operation and asks for a commit after the last. */
    static final class CommitAtEnd<K, V> implements FixedKeyProcessor<K, V, V> {
        private final Progress p;
        private FixedKeyProcessorContext<K, V> ctx;

        CommitAtEnd(Progress p) {
            this.p = p;
        }

        @Override
        public void init(FixedKeyProcessorContext<K, V> ctx) {
            this.ctx = ctx;
        }

        @Override
        public void process(FixedKeyRecord<K, V> r) {
            ctx.forward(r);
            if (p.add()) {
                ctx.commit();
            }
        }
    }

    /** Reads and writes every record's key in a key-value store. */
    static final class KeyValueStoreProcessor implements Processor<Integer, byte[], Void, Void> {
        private final Progress p;
        private KeyValueStore<Integer, byte[]> store;

        KeyValueStoreProcessor(Progress p) {
            this.p = p;
        }

        @Override
        public void init(ProcessorContext<Void, Void> ctx) {
            store = ctx.getStateStore("store");
        }

        @Override
        public void process(Record<Integer, byte[]> r) {
            store.get(r.key());
            store.put(r.key(), r.value());
            p.add();
        }
    }

    /** Reads and writes every record's key in its 1 s window of a window store. */
    static final class WindowStoreProcessor implements Processor<Integer, byte[], Void, Void> {
        private final Progress p;
        private WindowStore<Integer, byte[]> store;

        WindowStoreProcessor(Progress p) {
            this.p = p;
        }

        @Override
        public void init(ProcessorContext<Void, Void> ctx) {
            store = ctx.getStateStore("store");
        }

        @Override
        public void process(Record<Integer, byte[]> r) {
            long start = r.timestamp() - r.timestamp() % 1000;
            store.fetch(r.key(), start);
            store.put(r.key(), r.value(), start);
            p.add();
        }
    }
}
