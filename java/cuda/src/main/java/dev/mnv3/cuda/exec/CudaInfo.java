package dev.mnv3.cuda.exec;

import dev.mnv3.core.backend.BackendUnavailableException;

/**
 * {@code java -cp ... dev.mnv3.cuda.exec.CudaInfo [--driver]}: says what the NVIDIA driver is
 * (its release, the CUDA version it supports) and which GPUs it sees (name, compute capability),
 * then whether the CUDA backend can run here and on what, or why not, and on a last line whether
 * cuDNN is there (it is optional). {@code --driver} stops before anything loads our kernels.
 * Exit status 0 when the backend can run, 2 when it cannot; the GPU check's first two steps.
 */
public final class CudaInfo {
    private CudaInfo() {
    }

    public static void main(String[] args) {
        boolean driverOnly = args.length == 1 && args[0].equals("--driver");
        if (args.length > 0 && !driverOnly) {
            System.err.println("usage: CudaInfo [--driver]");
            System.exit(2);
        }
        try {
            CudaDevices.Report report = CudaDevices.report();
            report.lines().forEach(System.out::println);
            if (report.problem() != null) {
                System.out.println(CudaRuntime.PREFIX + report.problem());
                System.exit(2);
            }
        } catch (BackendUnavailableException e) {
            System.out.println(e.getMessage());
            System.exit(2);
        }
        if (driverOnly) return;
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
