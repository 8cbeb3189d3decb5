package dev.mnv3.cuda.exec;

import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * Keeps calls that wait for the whole context out of every lane's CUDA graph capture. The driver
 * fails such a call while any stream of the context captures, whatever the capture mode, and
 * invalidates the capture: cudnnDestroy calls cudaDeviceSynchronize (cuDNN's documentation), and
 * so does loading cuDNN, whose probe creates and destroys a handle. Captures share the gate; a
 * context-wide call waits for the captures in flight and holds new ones back until it is done.
 * Captures take milliseconds; the context-wide calls happen when a lane is closed and when cuDNN
 * is first loaded.
 */
public final class CaptureGate {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    /** Runs one graph capture; others may run at once. */
    <T> T capture(Supplier<T> capture) {
        return under(lock.readLock(), capture);
    }

    /** Runs a call that synchronizes the context, with no capture in flight. */
    public <T> T contextWide(Supplier<T> call) {
        return under(lock.writeLock(), call);
    }

    public void contextWide(Runnable call) {
        contextWide(() -> {
            call.run();
            return null;
        });
    }

    private static <T> T under(Lock l, Supplier<T> work) {
        l.lock();
        try {
            return work.get();
        } finally {
            l.unlock();
        }
    }
}
