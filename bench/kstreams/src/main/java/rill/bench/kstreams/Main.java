package rill.bench.kstreams;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

/**
 * kstreams-bench: one cmd/rill-bench workload on Kafka Streams, as a child process of
 * rill-bench.
 *
 * <p>Usage (rill-bench builds the jar with {@code mvn -q package} and runs it):
 *
 * <pre>
 *   java -Xmx1g -jar target/kstreams-bench.jar '{"workload":"streamcount","eos":true,
 *       "bootstrap":["localhost:9092"],"prefix":"p-","app_id":"p-app","state_dir":"/tmp/s",
 *       "commit_after":1000000}'
 * </pre>
 *
 * <p>It writes rill-bench's events on stdout and stops when stdin closes.
 */
public final class Main {
    /** rill's commit intervals (rill.Config): Kafka Streams' defaults are the same. */
    static final long ALOS_COMMIT_MS = 30_000;
    static final long EOS_COMMIT_MS = 100;

    private Main() {}

    public static void main(String[] args) {
        Protocol out = new Protocol(System.out);
        // Kafka's classes must not write on stdout, which carries the events.
        System.setOut(System.err);
        if (args.length != 1) {
            out.exit(Protocol.peakRssKb(), "usage: kstreams-bench '<spec JSON>'");
            System.exit(2);
        }
        try {
            Spec spec = new ObjectMapper().readValue(args[0], Spec.class);
            String err = run(spec, out);
            if (err != null) {
                out.exit(Protocol.peakRssKb(), err);
                System.exit(1);
            }
            System.exit(0);
        } catch (Throwable t) {
            out.exit(Protocol.peakRssKb(), t.toString());
            System.exit(1);
        }
    }

    /** The configuration: Kafka Streams' defaults, except what must match rill's run. */
    static Properties config(Spec s) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, s.appId());
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, String.join(",", s.bootstrap()));
        p.put(StreamsConfig.STATE_DIR_CONFIG, s.stateDir());
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1); // rill runs one stream thread
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG,
                s.eos() ? StreamsConfig.EXACTLY_ONCE_V2 : StreamsConfig.AT_LEAST_ONCE);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, s.eos() ? EOS_COMMIT_MS : ALOS_COMMIT_MS);
        p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest"); // the default, said
        return p;
    }

    /** Runs the workload until stdin closes; returns an error message, or null. */
    static String run(Spec spec, Protocol out) throws InterruptedException {
        CountDownLatch stop = stdinClosed();
        long target = spec.target() > 0 ? spec.target() : spec.commitAfter();
        Progress progress = new Progress(target);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        // RocksDB's native library is unpacked from the jar and loaded before the clock, as
        // rill's is linked when its process starts.
        org.rocksdb.RocksDB.loadLibrary();

        out.started(Protocol.nowNanos());
        Topology topology = Workloads.build(spec, progress);
        KafkaStreams streams = new KafkaStreams(topology, config(spec));
        streams.setUncaughtExceptionHandler(e -> {
            failure.compareAndSet(null, e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.start();

        boolean doneSent = false;
        while (!stop.await(1, TimeUnit.SECONDS)) {
            Throwable t = failure.get();
            if (t != null) {
                streams.close(Duration.ofSeconds(30));
                return "Kafka Streams failed: " + describe(t);
            }
            if (streams.state() == KafkaStreams.State.ERROR || streams.state() == KafkaStreams.State.NOT_RUNNING) {
                return "Kafka Streams stopped in state " + streams.state();
            }
            out.progress(progress.count());
            // Only workloads without output end on the processed count; the others end when
            // rill-bench sees their results.
            if (spec.target() > 0 && !doneSent && progress.reachedAtNanos() != 0) {
                out.done(progress.reachedAtNanos());
                doneSent = true;
            }
        }
        // Measure before shutting down: closing stores and clients is not the workload.
        long rss = Protocol.peakRssKb();
        boolean closed = streams.close(Duration.ofSeconds(60));
        Throwable t = failure.get();
        out.exit(rss, t != null ? "Kafka Streams failed: " + describe(t)
                : closed ? null : "Kafka Streams did not close within 60 s");
        return null;
    }

    private static String describe(Throwable t) {
        StringBuilder b = new StringBuilder(t.toString());
        for (Throwable c = t.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            b.append(": ").append(c);
        }
        return b.toString();
    }

    /** A latch released when stdin reaches its end: the parent's signal to stop. */
    private static CountDownLatch stdinClosed() {
        CountDownLatch latch = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            InputStream in = System.in;
            byte[] buf = new byte[512];
            try {
                while (in.read(buf) >= 0) {
                    // discard
                }
            } catch (IOException e) {
                // a broken stdin is the parent gone: stop too
            }
            latch.countDown();
        }, "stdin-watch");
        t.setDaemon(true);
        t.start();
        return latch;
    }
}
