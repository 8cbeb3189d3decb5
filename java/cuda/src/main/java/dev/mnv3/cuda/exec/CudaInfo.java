package dev.mnv3.cuda.exec;

/**
 * {@code java -cp ... dev.mnv3.cuda.exec.CudaInfo}: says whether the CUDA backend can run here and on
 * what, or why not, and on a second line whether cuDNN is there (it is optional: without it the
 * backend runs on mnv3's own kernels alone). Exit status 0 when the backend can run, 2 when it
 * cannot; the GPU check script starts here.
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
        CudaRuntime rt = CudaRuntime.get();
        System.out.println("CUDA backend available: " + rt.info());
        System.out.println(rt.cudnnDescription());
    }
}
