package dev.mnv3.serve;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The platform threads that do the processor-heavy part of requests (parsing a JSON body, decoding
 * an image, writing a large JSON answer), one per processor, taking work in the order it comes.
 * Requests wait for it on their virtual threads, which then hold no carrier: a virtual thread is
 * never preempted, so heavy work on one would keep the few carriers from the threads that read,
 * write and answer. A request submits one piece at a time (each image of a batch in turn), so a
 * request of many costly images never holds more than one thread, and others' pieces run between
 * its own.
 */
public final class CpuWork implements AutoCloseable {
    /** A piece of work that may fail the way a request does (a {@link ServeError}). */
    public interface Piece<T> {
        T run() throws Exception;
    }

    private final ExecutorService threads;

    public CpuWork(int threads) {
        this.threads = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                Thread.ofPlatform().daemon().name("mnv3-work-", 0).factory());
    }

    /** One thread per available processor. */
    public static CpuWork perProcessor() {
        return new CpuWork(Runtime.getRuntime().availableProcessors());
    }

    /** Runs {@code piece} on a CPU thread and waits for it; its exceptions come back as thrown. */
    public <T> T run(Piece<T> piece) {
        Callable<T> task = piece::run;
        Future<T> f = threads.submit(task);
        try {
            return f.get();
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new ServeError(ServeError.Kind.UNAVAILABLE, "interrupted while waiting for a processor");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) throw r;
            if (cause instanceof Error err) throw err;
            throw new IllegalStateException(cause);
        }
    }

    @Override
    public void close() {
        threads.shutdownNow();
    }
}
