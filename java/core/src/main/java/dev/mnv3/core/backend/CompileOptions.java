package dev.mnv3.core.backend;

/**
 * Options every backend understands; a backend rejects what it cannot do (the CPU backends run
 * FP32 only) with a clear message.
 *
 * @param threads   CPU threads to use; 0 means all available processors
 * @param precision arithmetic precision (FP32 strict by default)
 */
public record CompileOptions(int threads, Precision precision) {
    public CompileOptions {
        if (threads < 0) throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        if (precision == null) precision = Precision.FP32;
    }

    public static CompileOptions defaults() {
        return new CompileOptions(0, Precision.FP32);
    }

    public CompileOptions withThreads(int t) {
        return new CompileOptions(t, precision);
    }

    public CompileOptions withPrecision(Precision p) {
        return new CompileOptions(threads, p);
    }

    public int resolvedThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
