package rill.bench.kstreams;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * rill-bench's child protocol (bench/protocol in the Go module): one JSON event per line on
 * stdout — "started", "progress", "done", "exit" — and the parent closes stdin to stop the
 * child.
 */
final class Protocol {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final PrintStream out;

    Protocol(PrintStream out) {
        this.out = out;
    }

    static long nowNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    void started(long timeNanos) {
        write(Map.of("event", "started", "time", timeNanos));
    }

    void progress(long processed) {
        write(Map.of("event", "progress", "processed", processed));
    }

    void done(long timeNanos) {
        write(Map.of("event", "done", "time", timeNanos));
    }

    void exit(long peakRssKb, String error) {
        Map<String, Object> ev = new LinkedHashMap<>();
        ev.put("event", "exit");
        ev.put("peak_rss_kb", peakRssKb);
        if (error != null && !error.isEmpty()) {
            ev.put("error", error);
        }
        write(ev);
    }

    private synchronized void write(Map<String, Object> ev) {
        try {
            out.println(JSON.writeValueAsString(ev));
            out.flush();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The process's peak resident set size (VmHWM), in KiB; 0 where /proc is missing. */
    static long peakRssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.substring("VmHWM:".length()).replace("kB", "").trim());
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }
}
