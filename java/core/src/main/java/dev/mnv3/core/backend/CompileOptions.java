package dev.mnv3.core.backend;

/**
 * Options every backend understands; a backend rejects what it cannot do (the CPU backends run
 * FP32 only) with a clear message, and ignores what does not apply to it. Every setting of the
 * backends lives here, as plain values: constructing options reads no JVM state, so a model
 * compiled with equal options behaves the same in every JVM (a Spark executor's included). The
 * documented {@code -Dmnv3.*} properties are read in one place, {@link #fromSystemProperties()},
 * which the CLI and the Spark driver call; the remaining property reads in the backends only say
 * where native libraries are, or fix the Vector API width of the whole JVM.
 *
 * @param threads   CPU threads to use; 0 means all available processors
 * @param precision arithmetic precision (FP32 strict by default)
 * @param cpu       the fast CPU backend's kernels, stacking and warm start ({@link CpuSettings#defaults()} when null)
 * @param cuda      the CUDA backend's device, cuDNN mode, CUDA graphs, conv kernel choices, streams and debug mode
 *                  ({@link CudaSettings#defaults()} when null)
 */
public record CompileOptions(int threads, Precision precision, CpuSettings cpu, CudaSettings cuda)
        implements java.io.Serializable { // serializable: a Spark job ships it to its executors
    /** More threads than this only add hand-over cost (the fast backend splits an image into at most this many parts). */
    public static final int MAX_THREADS = 256;

    public CompileOptions {
        if (threads < 0 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("CompileOptions.threads must be from 0 (all available processors) to " + MAX_THREADS
                    + ", got " + threads);
        }
        if (precision == null) precision = Precision.FP32;
        if (cpu == null) cpu = CpuSettings.defaults();
        if (cuda == null) cuda = CudaSettings.defaults();
    }

    /** The plain defaults for the other settings. */
    public CompileOptions(int threads, Precision precision) {
        this(threads, precision, null, null);
    }

    /** All processors, FP32, and the plain defaults of {@link CpuSettings} and {@link CudaSettings}. */
    public static CompileOptions defaults() {
        return new CompileOptions(0, Precision.FP32);
    }

    /**
     * The defaults changed by the documented {@code -Dmnv3.*} properties that are set (for
     * {@code ./mnv3}, through {@code MNV3_JAVA_OPTS}): {@code mnv3.cpu.scalar}, {@code .stack},
     * {@code .warmStart}; {@code mnv3.cuda.device}, {@code .graphs},
     * {@code .depthwise}, {@code .pointwise}, {@code .stem}, {@code .streams}, {@code .debug}. The
     * one reader of them: call it where a program starts (the CLI, a Spark driver), never in a
     * library. A bad value fails here, naming the property.
     */
    public static CompileOptions fromSystemProperties() {
        return new CompileOptions(0, Precision.FP32, CpuSettings.fromProperties(), CudaSettings.fromProperties());
    }

    public CompileOptions withThreads(int t) {
        return new CompileOptions(t, precision, cpu, cuda);
    }

    public CompileOptions withPrecision(Precision p) {
        return new CompileOptions(threads, p, cpu, cuda);
    }

    public CompileOptions withCpu(CpuSettings s) {
        return new CompileOptions(threads, precision, s, cuda);
    }

    public CompileOptions withCuda(CudaSettings s) {
        return new CompileOptions(threads, precision, cpu, s);
    }

    public int resolvedThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
