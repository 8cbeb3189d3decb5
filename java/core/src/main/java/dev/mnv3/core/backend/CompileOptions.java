package dev.mnv3.core.backend;

/**
 * Options every backend understands; a backend rejects what it cannot do (the CPU backends run
 * FP32 only) with a clear message, and ignores what does not apply to it.
 *
 * @param threads    CPU threads to use; 0 means all available processors
 * @param precision  arithmetic precision (FP32 strict by default)
 * @param cudaGraphs GPU only: replay each (batch, size) as a captured CUDA graph from its second
 *                   run on (default); false launches every kernel every run
 * @param cudnn      GPU only: whether cuDNN is used ({@link CudnnMode#AUTO} by default)
 * @param device     GPU only: the device ordinal the model lives on; -1 (the default) means the
 *                   backend's default device ({@code -Dmnv3.cuda.device}, else 0)
 */
public record CompileOptions(int threads, Precision precision, boolean cudaGraphs, CudnnMode cudnn, int device)
        implements java.io.Serializable { // serializable: a Spark job ships it to its executors
    /** More threads than this only add hand-over cost (the fast backend splits an image into at most this many parts). */
    public static final int MAX_THREADS = 256;

    public CompileOptions {
        if (threads < 0 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("threads must be from 0 (all available processors) to " + MAX_THREADS + ", got "
                    + threads);
        }
        if (precision == null) precision = Precision.FP32;
        if (cudnn == null) cudnn = CudnnMode.AUTO;
        if (device < -1) throw new IllegalArgumentException("device must be a device number (0, 1, ...), got " + device);
    }

    public CompileOptions(int threads, Precision precision) {
        this(threads, precision, true, CudnnMode.AUTO, -1);
    }

    public static CompileOptions defaults() {
        return new CompileOptions(0, Precision.FP32, true, CudnnMode.AUTO, -1);
    }

    public CompileOptions withThreads(int t) {
        return new CompileOptions(t, precision, cudaGraphs, cudnn, device);
    }

    public CompileOptions withPrecision(Precision p) {
        return new CompileOptions(threads, p, cudaGraphs, cudnn, device);
    }

    public CompileOptions withCudaGraphs(boolean on) {
        return new CompileOptions(threads, precision, on, cudnn, device);
    }

    public CompileOptions withCudnn(CudnnMode mode) {
        return new CompileOptions(threads, precision, cudaGraphs, mode, device);
    }

    /** The GPU the model lives on (device ordinal); one model, one device. */
    public CompileOptions withDevice(int ordinal) {
        return new CompileOptions(threads, precision, cudaGraphs, cudnn, ordinal);
    }

    public int resolvedThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
