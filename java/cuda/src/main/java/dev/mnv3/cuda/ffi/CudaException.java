package dev.mnv3.cuda.ffi;

import java.util.Set;

/**
 * A CUDA driver or cuDNN call that returned an error: names the call, the numeric code and the
 * library's own name and description of it, e.g.
 * {@code cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory}.
 */
public final class CudaException extends RuntimeException {
    /**
     * CUresults after which the context is lost and every later call fails the same way (the
     * driver API's words: "the process must be terminated and relaunched"): illegal address,
     * launch timeout, device assert, hardware stack error, illegal instruction, misaligned
     * address, invalid address space, invalid PC, launch failed, external device.
     */
    private static final Set<Integer> CONTEXT_LOST = Set.of(700, 702, 710, 714, 715, 716, 717, 718, 719, 911);
    /** CUresults that say this work cannot run here: out of memory, out of launch resources, not supported. */
    private static final Set<Integer> DRIVER_CANNOT_RUN = Set.of(2, 701, 801);
    /** cuDNN 9's host and device allocation failures (its not-supported statuses are 3000 to 3999). */
    private static final Set<Integer> CUDNN_OUT_OF_MEMORY = Set.of(4003, 4004);

    private final String call;
    private final int code;

    public CudaException(String call, int code, String name, String description) {
        super(message(call, code, name, description));
        this.call = call;
        this.code = code;
    }

    public static String message(String call, int code, String name, String description) {
        String n = name == null || name.isBlank() ? "unknown error" : name;
        StringBuilder sb = new StringBuilder(call).append(" failed: ").append(n).append(" (").append(code).append(")");
        if (description != null && !description.isBlank() && !description.equals(name)) {
            sb.append(": ").append(description);
        }
        return sb.toString();
    }

    /** The C function that failed. */
    public String call() {
        return call;
    }

    /** The CUresult or cudnnStatus_t it returned. */
    public int code() {
        return code;
    }

    /** A fault that leaves the CUDA context unusable: nothing later in this process can use the GPU. */
    public boolean contextLost() {
        return !fromCudnn() && CONTEXT_LOST.contains(code);
    }

    /** The work cannot run here as asked (not supported, or not enough memory or launch resources); the GPU is fine. */
    public boolean cannotRunHere() {
        return fromCudnn() ? code / 1000 == 3 || CUDNN_OUT_OF_MEMORY.contains(code) : DRIVER_CANNOT_RUN.contains(code);
    }

    private boolean fromCudnn() {
        return call.startsWith("cudnn");
    }
}
