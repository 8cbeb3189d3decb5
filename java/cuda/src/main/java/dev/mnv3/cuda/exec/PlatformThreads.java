package dev.mnv3.cuda.exec;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * Where GPU work runs when a virtual thread asks for it. The CUDA driver keeps the current
 * context per OS thread, and a virtual thread may move to another carrier whenever it blocks, so
 * between two driver calls its context could vanish. Work from a platform thread runs in place;
 * work from a virtual thread is handed to a platform thread and waited for (cheaply, as virtual
 * threads wait). Every entry point of the backend goes through {@link #call}.
 */
public final class PlatformThreads {
    private static final ExecutorService POOL = Executors.newCachedThreadPool(
            Thread.ofPlatform().daemon().name("mnv3-cuda-", 0).factory());

    private PlatformThreads() {
    }

    public static <T> T call(Supplier<T> work) {
        if (!Thread.currentThread().isVirtual()) return work.get();
        Future<T> f = POOL.submit(work::get);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();
                } catch (InterruptedException e) {
                    interrupted = true; // the GPU work cannot be abandoned half-way: wait, then pass the interrupt on
                }
            }
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) throw r;
            if (cause instanceof Error err) throw err;
            throw new IllegalStateException(cause);
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    public static void run(Runnable work) {
        call(() -> {
            work.run();
            return null;
        });
    }
}
