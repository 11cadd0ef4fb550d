package rill.bench.kstreams;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the records a workload's counting node saw, and remembers when the count reached its
 * target. The stream thread adds; the main thread reads for the progress and done events.
 */
final class Progress {
    private final AtomicLong count = new AtomicLong();
    private final long target;
    private volatile long reachedAtNanos; // Unix nanoseconds; 0 until the target is reached

    Progress(long target) {
        this.target = target;
    }

    /** Adds one record; true exactly once, for the record that reaches the target. */
    boolean add() {
        long n = count.incrementAndGet();
        if (n == target) {
            reachedAtNanos = Protocol.nowNanos();
            return true;
        }
        return false;
    }

    long count() {
        return count.get();
    }

    long reachedAtNanos() {
        return reachedAtNanos;
    }
}
