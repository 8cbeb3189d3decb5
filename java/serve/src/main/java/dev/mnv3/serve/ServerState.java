package dev.mnv3.serve;

import java.time.Duration;

/**
 * Where the server is in its life, and the inference calls in flight. Live from the start; ready
 * only once the warm-up inference has run on every instance; draining after a shutdown request
 * (not ready, new inference calls refused with UNAVAILABLE, calls in flight finish); stopped.
 */
public final class ServerState {
    public enum Phase { WARMING_UP, READY, DRAINING, STOPPED }

    private Phase phase = Phase.WARMING_UP;
    private int inFlight;

    public synchronized Phase phase() {
        return phase;
    }

    public synchronized boolean live() {
        return phase != Phase.STOPPED;
    }

    public synchronized boolean ready() {
        return phase == Phase.READY;
    }

    public synchronized void ready(boolean warmedUp) {
        if (phase == Phase.WARMING_UP && warmedUp) phase = Phase.READY;
    }

    /**
     * Admits one inference call, to be ended with {@link #exit()}; refuses it with UNAVAILABLE
     * while warming up or after a shutdown began.
     */
    public synchronized void enter() {
        switch (phase) {
            case READY -> inFlight++;
            case WARMING_UP -> throw new ServeError(ServeError.Kind.UNAVAILABLE, "the model is warming up; not ready yet");
            case DRAINING, STOPPED -> throw new ServeError(ServeError.Kind.UNAVAILABLE, "the server is shutting down");
        }
    }

    public synchronized void exit() {
        inFlight--;
        if (inFlight == 0) notifyAll();
    }

    public synchronized int inFlight() {
        return inFlight;
    }

    /** Stops admitting calls: not ready, new inference calls refused. */
    public synchronized void beginDrain() {
        if (phase != Phase.STOPPED) phase = Phase.DRAINING;
    }

    /** Waits up to {@code timeout} for the calls in flight to end; true when none is left. */
    public synchronized boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (inFlight > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return false;
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }

    public synchronized void awaitStopped() throws InterruptedException {
        while (phase != Phase.STOPPED) wait();
    }

    public synchronized void stopped() {
        phase = Phase.STOPPED;
        notifyAll();
    }
}
