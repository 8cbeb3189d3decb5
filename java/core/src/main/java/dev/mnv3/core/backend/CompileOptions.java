package dev.mnv3.core.backend;

/**
 * Options every backend understands; a backend rejects what it cannot do (the CPU backends run
 * FP32 only) with a clear message, and ignores what does not apply to it. Every setting of the
 * backends lives here; the few {@code -Dmnv3.*} properties that remain only change defaults
 * ({@link CpuSettings#fromProperties}, {@link CudaSettings#fromProperties}, {@code -Dmnv3.cuda.graphs})
 * or say where native libraries are.
 *
 * @param threads    CPU threads to use; 0 means all available processors
 * @param precision  arithmetic precision (FP32 strict by default)
 * @param cudaGraphs GPU only: replay each (batch, size) as a captured CUDA graph from its second
 *                   run on (default, unless {@code -Dmnv3.cuda.graphs=false}); false launches every
 *                   kernel every run
 * @param cudnn      GPU only: whether cuDNN is used ({@link CudnnMode#AUTO} by default)
 * @param device     GPU only: the device ordinal the model lives on; -1 (the default) means the
 *                   backend's default device ({@code -Dmnv3.cuda.device}, else 0)
 * @param cpu        the fast CPU backend's kernels and stacking
 * @param cuda       the CUDA backend's conv kernel choices, streams and debug mode
 */
public record CompileOptions(int threads, Precision precision, boolean cudaGraphs, CudnnMode cudnn, int device,
                             CpuSettings cpu, CudaSettings cuda)
        implements java.io.Serializable { // serializable: a Spark job ships it to its executors
    /** More threads than this only add hand-over cost (the fast backend splits an image into at most this many parts). */
    public static final int MAX_THREADS = 256;
    public static final String GRAPHS_PROPERTY = "mnv3.cuda.graphs";

    public CompileOptions {
        if (threads < 0 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("threads must be from 0 (all available processors) to " + MAX_THREADS + ", got "
                    + threads);
        }
        if (precision == null) precision = Precision.FP32;
        if (cudnn == null) cudnn = CudnnMode.AUTO;
        if (device < -1) throw new IllegalArgumentException("device must be a device number (0, 1, ...), got " + device);
        if (cpu == null) cpu = CpuSettings.fromProperties();
        if (cuda == null) cuda = CudaSettings.fromProperties();
    }

    /** The defaults for the other settings (with their documented property overrides). */
    public CompileOptions(int threads, Precision precision) {
        this(threads, precision, Settings.booleanProperty(GRAPHS_PROPERTY, true), CudnnMode.AUTO, -1, null, null);
    }

    public static CompileOptions defaults() {
        return new CompileOptions(0, Precision.FP32);
    }

    public CompileOptions withThreads(int t) {
        return new CompileOptions(t, precision, cudaGraphs, cudnn, device, cpu, cuda);
    }

    public CompileOptions withPrecision(Precision p) {
        return new CompileOptions(threads, p, cudaGraphs, cudnn, device, cpu, cuda);
    }

    public CompileOptions withCudaGraphs(boolean on) {
        return new CompileOptions(threads, precision, on, cudnn, device, cpu, cuda);
    }

    public CompileOptions withCudnn(CudnnMode mode) {
        return new CompileOptions(threads, precision, cudaGraphs, mode, device, cpu, cuda);
    }

    /** The GPU the model lives on (device ordinal); one model, one device. */
    public CompileOptions withDevice(int ordinal) {
        return new CompileOptions(threads, precision, cudaGraphs, cudnn, ordinal, cpu, cuda);
    }

    public CompileOptions withCpu(CpuSettings s) {
        return new CompileOptions(threads, precision, cudaGraphs, cudnn, device, s, cuda);
    }

    public CompileOptions withCuda(CudaSettings s) {
        return new CompileOptions(threads, precision, cudaGraphs, cudnn, device, cpu, s);
    }

    public int resolvedThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
