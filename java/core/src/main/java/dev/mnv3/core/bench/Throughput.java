package dev.mnv3.core.bench;

import dev.mnv3.core.Json;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.tensor.Tensor;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.DoubleConsumer;

/**
 * Measures a compiled model on one batch: warm-up, then timed runs for a given time. Shared by
 * {@code mnv3 bench}, {@code mnv3 demo} and the benchmark harnesses so they all count the same way.
 */
public final class Throughput {
    /**
     * The outcome: images per second over the timed runs, per-batch latency percentiles, and how
     * the warm-up before them went (null where there was none).
     */
    public record Result(int batch, int runs, double seconds, double imagesPerSecond, double p50Ms, double p99Ms,
                         double minMs, int clients, Warmup.Outcome warmup) {
        /** One caller. */
        public Result(int batch, int runs, double seconds, double imagesPerSecond, double p50Ms, double p99Ms, double minMs) {
            this(batch, runs, seconds, imagesPerSecond, p50Ms, p99Ms, minMs, 1, null);
        }

        Result withWarmup(Warmup.Outcome w) {
            return new Result(batch, runs, seconds, imagesPerSecond, p50Ms, p99Ms, minMs, clients, w);
        }

        /**
         * One JSON object: the settings (precision in lower case; {@code cudaGraphs} whether runs were
         * replayed as CUDA graphs, false for the CPU backends; {@code cudnn} whether a CUDA model used
         * cuDNN, null (omitted) for other models; {@code vectorBits} the CPU kernels' vector width, 0 for
         * plain loops, null where no CPU kernels ran), the measurements and, after a warm-up,
         * {@code warmup_seconds} and {@code warmup} ("steady", "cap": stopped before steady, or "fixed").
         */
        public String toJson(String model, String backend, Precision precision, boolean cudaGraphs, Boolean cudnn,
                             Integer vectorBits, int threads, int height, int width) {
            return String.format(Locale.ROOT,
                    "{\"model\":%s,\"backend\":%s,\"precision\":\"%s\",\"cuda_graphs\":%b,%s\"vector_bits\":%s,\"batch\":%d,"
                            + "\"clients\":%d,\"threads\":%d,\"height\":%d,\"width\":%d,\"runs\":%d,\"seconds\":%.3f,"
                            + "\"images_per_second\":%.2f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"min_ms\":%.3f%s}",
                    Json.quote(model), Json.quote(backend), precision.name().toLowerCase(Locale.ROOT), cudaGraphs,
                    cudnn == null ? "" : "\"cudnn\":" + cudnn + ",", vectorBits, batch, clients, threads, height, width, runs,
                    seconds, imagesPerSecond, p50Ms, p99Ms, minMs, warmup == null ? "" : String.format(Locale.ROOT,
                            ",\"warmup_seconds\":%.3f,\"warmup\":\"%s\"", warmup.seconds(), warmup.how()));
        }
    }

    /** The longest warm-up or timed run: a day. Longer (or infinite) durations are mistakes, not measurements. */
    public static final double MAX_SECONDS = 86_400;

    private Throughput() {
    }

    /** Fails unless the warm-up is in [0, a day] and the timed duration in (0, a day]: NaN and infinity included. */
    public static void checkDurations(double warmupSeconds, double seconds) {
        if (!(warmupSeconds >= 0 && warmupSeconds <= MAX_SECONDS)) {
            throw new IllegalArgumentException("the warm-up must be from 0 to " + (long) MAX_SECONDS + " seconds, got " + warmupSeconds);
        }
        if (!(seconds > 0 && seconds <= MAX_SECONDS)) {
            throw new IllegalArgumentException("the timed duration must be more than 0 and at most " + (long) MAX_SECONDS
                    + " seconds, got " + seconds);
        }
    }

    /**
     * Runs {@code model} on {@code input} for {@code warmupSeconds} untimed, then for
     * {@code seconds} timed (at least 3 runs), reporting the fraction done to {@code progress}.
     */
    public static Result measure(CompiledModel model, Tensor input, double warmupSeconds, double seconds, DoubleConsumer progress) {
        return measure(model, input, Warmup.fixed(warmupSeconds), seconds, progress);
    }

    /** Warms {@code model} up as {@code warmup} says, then runs it for {@code seconds} timed (at least 3 runs). */
    public static Result measure(CompiledModel model, Tensor input, Warmup warmup, double seconds, DoubleConsumer progress) {
        checkDurations(0, seconds);
        Warmup.Outcome w = warmup.run(() -> model.run(input));
        return summarize(input.dim(0), timedRuns(model, input, System.nanoTime(), seconds, 3, progress)).withWarmup(w);
    }

    /** Latencies in ms of runs from {@code start} until {@code seconds} have passed (at least {@code minRuns} runs). */
    private static double[] timedRuns(CompiledModel model, Tensor input, long start, double seconds, int minRuns,
                                      DoubleConsumer progress) {
        double[] times = new double[16];
        int runs = 0;
        long deadline = start + (long) (seconds * 1e9), now = System.nanoTime();
        while (runs < minRuns || now < deadline) {
            long t = System.nanoTime();
            model.run(input);
            now = System.nanoTime();
            if (runs == times.length) times = Arrays.copyOf(times, runs * 2);
            times[runs++] = (now - t) / 1e6;
            progress.accept(Math.min(1.0, (now - start) / (seconds * 1e9)));
        }
        return Arrays.copyOf(times, runs);
    }

    /**
     * {@code clients} threads run {@code model} on {@code input} at once, as a service's request
     * threads would: the warm-up untimed, then {@code seconds} timed. Images per second are all
     * images over the wall time; the percentiles are of every run's latency. One client is
     * {@link #measure}.
     */
    public static Result measure(CompiledModel model, Tensor input, int clients, double warmupSeconds, double seconds,
                                 DoubleConsumer progress) {
        return measure(model, input, clients, Warmup.fixed(warmupSeconds), seconds, progress);
    }

    /**
     * As {@link #measure(CompiledModel, Tensor, int, double, double, DoubleConsumer)}, warmed up as
     * {@code warmup} says: the first client judges when the warm-up is over, the others run until then.
     */
    public static Result measure(CompiledModel model, Tensor input, int clients, Warmup warmup, double seconds,
                                 DoubleConsumer progress) {
        if (clients < 1) throw new IllegalArgumentException("clients must be >= 1, got " + clients);
        if (clients == 1) return measure(model, input, warmup, seconds, progress);
        checkDurations(0, seconds);
        java.util.concurrent.atomic.AtomicBoolean warm = new java.util.concurrent.atomic.AtomicBoolean();
        Warmup.Outcome[] outcome = new Warmup.Outcome[1];
        long[] window = new long[1]; // when the timed runs began, in all clients at once
        double[][] perClient = new double[clients][];
        Thread[] threads = new Thread[clients];
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(clients,
                () -> window[0] = System.nanoTime());
        for (int c = 0; c < clients; c++) {
            int k = c;
            threads[c] = Thread.ofPlatform().name("bench-client-" + c).start(() -> {
                boolean warmed = false;
                try {
                    if (k == 0) {
                        try {
                            outcome[0] = warmup.run(() -> model.run(input));
                        } finally {
                            warm.set(true);
                        }
                    } else {
                        do {
                            model.run(input);
                        } while (!warm.get());
                    }
                    warmed = true;
                    start.await();
                    // a client that failed in the warm-up has reached the barrier too: no timed runs then; one run
                    // each at least, together many: more per client would outlast --seconds by far on few cores
                    if (failure.get() == null) perClient[k] = timedRuns(model, input, window[0], seconds, 1, k == 0 ? progress : p -> { });
                } catch (RuntimeException | Error e) { // an OutOfMemoryError too: reported by the caller, not on stderr here
                    failure.compareAndSet(null, e);
                    warm.set(true); // the others stop warming up
                    if (!warmed) arrive(start); // and do not wait for this client
                } catch (java.util.concurrent.BrokenBarrierException e) {
                    // a client was interrupted at the barrier
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the bench clients ran", e);
            }
        }
        long end = System.nanoTime();
        if (failure.get() instanceof RuntimeException e) throw e;
        if (failure.get() instanceof Error e) throw e;
        double[] all = Arrays.stream(perClient).flatMapToDouble(Arrays::stream).sorted().toArray();
        int total = all.length;
        double wall = (end - window[0]) / 1e9;
        return new Result(input.dim(0), total, wall, (double) total * input.dim(0) / wall, percentile(all, 50),
                percentile(all, 99), all[0], clients, outcome[0]);
    }

    private static void arrive(java.util.concurrent.CyclicBarrier barrier) {
        try {
            barrier.await();
        } catch (java.util.concurrent.BrokenBarrierException e) {
            // the others are gone already
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Throughput and percentiles from per-run latencies in milliseconds. */
    public static Result summarize(int batch, double[] ms) {
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double total = 0;
        for (double t : ms) total += t;
        return new Result(batch, ms.length, total / 1e3, ms.length * batch / (total / 1e3), percentile(sorted, 50),
                percentile(sorted, 99), sorted[0]);
    }

    /** Nearest-rank percentile of sorted values. */
    static double percentile(double[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}
