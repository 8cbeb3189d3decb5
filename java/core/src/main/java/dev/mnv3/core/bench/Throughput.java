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
    /** The outcome: images per second over the timed runs, and per-batch latency percentiles. */
    public record Result(int batch, int runs, double seconds, double imagesPerSecond, double p50Ms, double p99Ms,
                         double minMs) {
        /**
         * One JSON object: the settings (precision in lower case; {@code cudaGraphs} whether runs were
         * replayed as CUDA graphs, false for the CPU backends) and the measurements.
         */
        public String toJson(String model, String backend, Precision precision, boolean cudaGraphs, int threads, int height,
                             int width) {
            return String.format(Locale.ROOT,
                    "{\"model\":%s,\"backend\":%s,\"precision\":\"%s\",\"cuda_graphs\":%b,\"batch\":%d,"
                            + "\"threads\":%d,\"height\":%d,\"width\":%d,\"runs\":%d,\"seconds\":%.3f,\"images_per_second\":%.2f,"
                            + "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"min_ms\":%.3f}",
                    Json.quote(model), Json.quote(backend), precision.name().toLowerCase(Locale.ROOT), cudaGraphs, batch,
                    threads, height, width, runs, seconds, imagesPerSecond, p50Ms, p99Ms, minMs);
        }
    }

    private Throughput() {
    }

    /**
     * Runs {@code model} on {@code input} for {@code warmupSeconds} untimed, then for
     * {@code seconds} timed (at least 3 runs), reporting the fraction done to {@code progress}.
     */
    public static Result measure(CompiledModel model, Tensor input, double warmupSeconds, double seconds, DoubleConsumer progress) {
        long warmEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
        do {
            model.run(input);
        } while (System.nanoTime() < warmEnd);
        double[] times = new double[16];
        int runs = 0;
        long start = System.nanoTime(), deadline = start + (long) (seconds * 1e9), now = start;
        while (runs < 3 || now < deadline) {
            long t = System.nanoTime();
            model.run(input);
            now = System.nanoTime();
            if (runs == times.length) times = Arrays.copyOf(times, runs * 2);
            times[runs++] = (now - t) / 1e6;
            progress.accept(Math.min(1.0, (now - start) / (seconds * 1e9)));
        }
        return summarize(input.dim(0), Arrays.copyOf(times, runs));
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
