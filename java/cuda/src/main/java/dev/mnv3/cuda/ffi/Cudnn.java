package dev.mnv3.cuda.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * cuDNN 9's legacy convolution API, bound with the FFM API: descriptors, the algorithm heuristic,
 * the workspace query and the forward convolution. Deprecated in cuDNN 9 but present and the
 * simplest route to an exact FP32 convolution. Every cudnnStatus_t is checked; errors carry
 * cudnnGetErrorString and, where cuDNN has one, its last detailed message.
 */
public final class Cudnn {
    public static final int CUDNN_DATA_FLOAT = 0;
    public static final int CUDNN_TENSOR_NCHW = 0, CUDNN_TENSOR_NHWC = 1;
    public static final int CUDNN_CROSS_CORRELATION = 1;
    public static final int CUDNN_DEFAULT_MATH = 0, CUDNN_TENSOR_OP_MATH = 1, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2,
            CUDNN_FMA_MATH = 3;
    /** cudnnConvolutionFwdAlgo_t has 8 algorithms (CUDNN_CONVOLUTION_FWD_ALGO_COUNT). */
    public static final int ALGO_COUNT = 8;
    /** sizeof(cudnnConvolutionFwdAlgoPerf_t): algo, status, time, (pad), memory, determinism, mathType, reserved[3]. */
    public static final long PERF_SIZE = 48, PERF_ALGO = 0, PERF_STATUS = 4, PERF_MEMORY = 16, PERF_MATH = 28;

    private final MethodHandle cudnnGetVersion, cudnnGetErrorString, cudnnGetLastErrorString, cudnnCreate,
            cudnnDestroy, cudnnSetStream, cudnnCreateTensorDescriptor, cudnnSetTensor4dDescriptor,
            cudnnDestroyTensorDescriptor, cudnnCreateFilterDescriptor, cudnnSetFilter4dDescriptor,
            cudnnDestroyFilterDescriptor, cudnnCreateConvolutionDescriptor, cudnnSetConvolution2dDescriptor,
            cudnnSetConvolutionGroupCount, cudnnSetConvolutionMathType, cudnnDestroyConvolutionDescriptor,
            cudnnGetConvolutionForwardAlgorithm_v7, cudnnGetConvolutionForwardWorkspaceSize, cudnnConvolutionForward;

    public Cudnn(SymbolLookup lib) {
        Ffm.Binder b = new Ffm.Binder(lib, LibraryLocator.CUDNN);
        cudnnGetVersion = b.bind("cudnnGetVersion", JAVA_LONG);
        cudnnGetErrorString = b.bind("cudnnGetErrorString", ADDRESS, JAVA_INT);
        cudnnGetLastErrorString = b.find("cudnnGetLastErrorString", null, ADDRESS, JAVA_LONG).orElse(null);
        cudnnCreate = b.bind("cudnnCreate", JAVA_INT, ADDRESS);
        cudnnDestroy = b.bind("cudnnDestroy", JAVA_INT, ADDRESS);
        cudnnSetStream = b.bind("cudnnSetStream", JAVA_INT, ADDRESS, ADDRESS);
        cudnnCreateTensorDescriptor = b.bind("cudnnCreateTensorDescriptor", JAVA_INT, ADDRESS);
        cudnnSetTensor4dDescriptor = b.bind("cudnnSetTensor4dDescriptor", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
        cudnnDestroyTensorDescriptor = b.bind("cudnnDestroyTensorDescriptor", JAVA_INT, ADDRESS);
        cudnnCreateFilterDescriptor = b.bind("cudnnCreateFilterDescriptor", JAVA_INT, ADDRESS);
        // note the order: data type, then format (the tensor descriptor has them the other way round)
        cudnnSetFilter4dDescriptor = b.bind("cudnnSetFilter4dDescriptor", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
        cudnnDestroyFilterDescriptor = b.bind("cudnnDestroyFilterDescriptor", JAVA_INT, ADDRESS);
        cudnnCreateConvolutionDescriptor = b.bind("cudnnCreateConvolutionDescriptor", JAVA_INT, ADDRESS);
        cudnnSetConvolution2dDescriptor = b.bind("cudnnSetConvolution2dDescriptor", JAVA_INT, ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
        cudnnSetConvolutionGroupCount = b.bind("cudnnSetConvolutionGroupCount", JAVA_INT, ADDRESS, JAVA_INT);
        cudnnSetConvolutionMathType = b.bind("cudnnSetConvolutionMathType", JAVA_INT, ADDRESS, JAVA_INT);
        cudnnDestroyConvolutionDescriptor = b.bind("cudnnDestroyConvolutionDescriptor", JAVA_INT, ADDRESS);
        cudnnGetConvolutionForwardAlgorithm_v7 = b.bind("cudnnGetConvolutionForwardAlgorithm_v7", JAVA_INT, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        cudnnGetConvolutionForwardWorkspaceSize = b.bind("cudnnGetConvolutionForwardWorkspaceSize", JAVA_INT, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
        cudnnConvolutionForward = b.bind("cudnnConvolutionForward", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS);
    }

    // ---- errors

    public void check(String call, int status) {
        if (status != 0) throw error(call, status);
    }

    public CudaException error(String call, int status) {
        String name = Ffm.string(Ffm.call(() -> (MemorySegment) cudnnGetErrorString.invokeExact(status)));
        return new CudaException(call, status, name, lastError());
    }

    /** cuDNN 9's detailed message for the last failure on this thread, or null. */
    private String lastError() {
        if (cudnnGetLastErrorString == null) return null;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(1024);
            Ffm.call(() -> {
                cudnnGetLastErrorString.invokeExact(buf, 1024L);
                return null;
            });
            String s = buf.getString(0).strip();
            return s.isEmpty() ? null : s;
        }
    }

    // ---- library and handle

    /** e.g. 90100 for 9.1.0. */
    public long version() {
        return Ffm.call(() -> (long) cudnnGetVersion.invokeExact());
    }

    public MemorySegment create() {
        return Ffm.outAddress(this::check, "cudnnCreate", out -> (int) cudnnCreate.invokeExact(out));
    }

    public void destroy(MemorySegment handle) {
        check("cudnnDestroy", Ffm.call(() -> (int) cudnnDestroy.invokeExact(handle)));
    }

    public void setStream(MemorySegment handle, MemorySegment stream) {
        check("cudnnSetStream", Ffm.call(() -> (int) cudnnSetStream.invokeExact(handle, stream)));
    }

    // ---- descriptors

    /** An NCHW float32 tensor descriptor. */
    public MemorySegment tensor(int n, int c, int h, int w) {
        return tensor(CUDNN_DATA_FLOAT, false, n, c, h, w);
    }

    /** A tensor descriptor of cuDNN data type {@code dataType}, NCHW or NHWC. */
    public MemorySegment tensor(int dataType, boolean nhwc, int n, int c, int h, int w) {
        MemorySegment d = Ffm.outAddress(this::check, "cudnnCreateTensorDescriptor",
                out -> (int) cudnnCreateTensorDescriptor.invokeExact(out));
        int format = nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
        check("cudnnSetTensor4dDescriptor", Ffm.call(() -> (int) cudnnSetTensor4dDescriptor.invokeExact(d,
                format, dataType, n, c, h, w)));
        return d;
    }

    public void destroyTensor(MemorySegment d) {
        check("cudnnDestroyTensorDescriptor", Ffm.call(() -> (int) cudnnDestroyTensorDescriptor.invokeExact(d)));
    }

    /** A float32 filter [out, in/groups, kh, kw], PyTorch's layout. */
    public MemorySegment filter(int out, int inPerGroup, int kh, int kw) {
        return filter(CUDNN_DATA_FLOAT, false, out, inPerGroup, kh, kw);
    }

    /** A filter of cuDNN data type {@code dataType}: [out, in, kh, kw] (NCHW), or [out, kh, kw, in] (NHWC). */
    public MemorySegment filter(int dataType, boolean nhwc, int out, int inPerGroup, int kh, int kw) {
        MemorySegment d = Ffm.outAddress(this::check, "cudnnCreateFilterDescriptor",
                o -> (int) cudnnCreateFilterDescriptor.invokeExact(o));
        int format = nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
        check("cudnnSetFilter4dDescriptor", Ffm.call(() -> (int) cudnnSetFilter4dDescriptor.invokeExact(d,
                dataType, format, out, inPerGroup, kh, kw)));
        return d;
    }

    public void destroyFilter(MemorySegment d) {
        check("cudnnDestroyFilterDescriptor", Ffm.call(() -> (int) cudnnDestroyFilterDescriptor.invokeExact(d)));
    }

    /** A cross-correlation (PyTorch's "convolution") with float32 accumulation, for every storage type. */
    public MemorySegment convolution(int pad, int stride, int dilation, int groups, int mathType) {
        MemorySegment d = Ffm.outAddress(this::check, "cudnnCreateConvolutionDescriptor",
                out -> (int) cudnnCreateConvolutionDescriptor.invokeExact(out));
        check("cudnnSetConvolution2dDescriptor", Ffm.call(() -> (int) cudnnSetConvolution2dDescriptor.invokeExact(d,
                pad, pad, stride, stride, dilation, dilation, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT)));
        check("cudnnSetConvolutionGroupCount", Ffm.call(() -> (int) cudnnSetConvolutionGroupCount.invokeExact(d, groups)));
        setMathType(d, mathType);
        return d;
    }

    public void setMathType(MemorySegment conv, int mathType) {
        check("cudnnSetConvolutionMathType", Ffm.call(() -> (int) cudnnSetConvolutionMathType.invokeExact(conv, mathType)));
    }

    public void destroyConvolution(MemorySegment d) {
        check("cudnnDestroyConvolutionDescriptor", Ffm.call(() -> (int) cudnnDestroyConvolutionDescriptor.invokeExact(d)));
    }

    // ---- algorithms and the convolution itself

    /** One row of cuDNN's ranking: cudnnConvolutionFwdAlgoPerf_t's algo, status, memory and mathType. */
    public record AlgorithmPerf(int algo, int status, long workspace, int mathType) {
    }

    /** cuDNN's heuristic ranking of the forward algorithms for these descriptors, best first. */
    public List<AlgorithmPerf> forwardAlgorithms(MemorySegment handle, MemorySegment x, MemorySegment w,
                                                    MemorySegment conv, MemorySegment y) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(JAVA_INT);
            MemorySegment perf = a.allocate(PERF_SIZE * ALGO_COUNT, 8);
            check("cudnnGetConvolutionForwardAlgorithm_v7", Ffm.call(() -> (int) cudnnGetConvolutionForwardAlgorithm_v7
                    .invokeExact(handle, x, w, conv, y, ALGO_COUNT, count, perf)));
            List<AlgorithmPerf> out = new ArrayList<>();
            for (int i = 0; i < count.get(JAVA_INT, 0); i++) {
                long o = i * PERF_SIZE;
                out.add(new AlgorithmPerf(perf.get(JAVA_INT, o + PERF_ALGO), perf.get(JAVA_INT, o + PERF_STATUS),
                        perf.get(JAVA_LONG, o + PERF_MEMORY), perf.get(JAVA_INT, o + PERF_MATH)));
            }
            return out;
        }
    }

    public long workspaceSize(MemorySegment handle, MemorySegment x, MemorySegment w, MemorySegment conv, MemorySegment y,
                       int algo) {
        return Ffm.outLong(this::check, "cudnnGetConvolutionForwardWorkspaceSize",
                out -> (int) cudnnGetConvolutionForwardWorkspaceSize.invokeExact(handle, x, w, conv, y, algo, out));
    }

    /** y = conv(x, w), enqueued on the handle's stream. alpha and beta point to host floats 1 and 0. */
    public void forward(MemorySegment handle, MemorySegment alpha, MemorySegment xDesc, long x, MemorySegment wDesc, long w,
                 MemorySegment conv, int algo, long workspace, long workspaceBytes, MemorySegment beta,
                 MemorySegment yDesc, long y) {
        MemorySegment xp = Ffm.pointer(x), wp = Ffm.pointer(w), ws = Ffm.pointer(workspace), yp = Ffm.pointer(y);
        check("cudnnConvolutionForward", Ffm.call(() -> (int) cudnnConvolutionForward.invokeExact(handle, alpha, xDesc,
                xp, wDesc, wp, conv, algo, ws, workspaceBytes, beta, yDesc, yp)));
    }

    /** The host scalars cudnnConvolutionForward reads: alpha = 1, beta = 0 (overwrite y). */
    public static MemorySegment[] alphaBeta(Arena arena) {
        MemorySegment alpha = arena.allocate(JAVA_FLOAT), beta = arena.allocate(JAVA_FLOAT);
        alpha.set(JAVA_FLOAT, 0, 1f);
        beta.set(JAVA_FLOAT, 0, 0f);
        return new MemorySegment[] {alpha, beta};
    }
}
