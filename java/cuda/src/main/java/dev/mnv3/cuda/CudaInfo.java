package dev.mnv3.cuda;

/**
 * {@code java -cp ... dev.mnv3.cuda.CudaInfo}: says whether the CUDA backend can run here and on
 * what, or why not. Exit status 0 when it can, 2 when it cannot; the GPU check script starts here.
 */
public final class CudaInfo {
    private CudaInfo() {
    }

    public static void main(String[] args) {
        String reason = CudaRuntime.unavailableReason();
        if (reason != null) {
            System.out.println(reason);
            System.exit(2);
        }
        System.out.println("CUDA backend available: " + CudaRuntime.get().info());
    }
}
