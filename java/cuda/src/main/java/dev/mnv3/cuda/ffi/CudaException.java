package dev.mnv3.cuda.ffi;

/**
 * A CUDA driver or cuDNN call that returned an error: names the call, the numeric code and the
 * library's own name and description of it, e.g.
 * {@code cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory}.
 */
public final class CudaException extends RuntimeException {
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
}
