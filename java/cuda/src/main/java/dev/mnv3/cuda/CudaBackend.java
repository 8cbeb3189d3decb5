package dev.mnv3.cuda;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.BackendUnavailableException;
import java.util.function.Consumer;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cuda.exec.CudaDevices;
import dev.mnv3.cuda.exec.CudaRuntime;
import dev.mnv3.cuda.exec.PlatformThreads;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.StorageType;

/**
 * The CUDA backend: our kernels for every layer at every precision, with cuDNN beside them where
 * it is found and faster for a shape ({@link dev.mnv3.core.backend.CudnnMode}). FP32 strict by
 * default and TF32 run float NCHW; FP16 and BF16 run 16-bit NHWC with float accumulation. Found
 * by {@link java.util.ServiceLoader} as {@code cuda}, and chosen before the CPU backends when a
 * GPU is present.
 */
public final class CudaBackend implements Backend {
    public static final String NAME = "cuda";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public boolean usesDevices() {
        return true;
    }

    @Override
    public boolean concurrentCalls() {
        return true;
    }

    @Override
    public boolean replaysGraphs() {
        return true;
    }

    @Override
    public boolean kernelLibraryChoice() {
        return true;
    }

    @Override
    public String unavailableReason() {
        return CudaRuntime.unavailableReason();
    }

    /**
     * Says, line by line as it learns it: the NVIDIA driver (release, the CUDA version it
     * supports, library), the CUDA version our kernels were built with, every GPU it sees (name,
     * compute capability, SMs, memory), then the cuDNN this process would use with the first
     * usable GPU. Throws, in one line, when the backend cannot run here: no driver (saying where
     * it looked), a driver too old for the kernels, no usable GPU.
     */
    public static void describeDevices(Consumer<String> out) {
        CudaDevices.Report report = CudaDevices.report();
        report.lines().forEach(out);
        if (report.problem() != null) throw new BackendUnavailableException(CudaRuntime.PREFIX + report.problem());
        report.devices().stream().filter(CudaDevices.Device::usable).findFirst()
                .ifPresent(d -> out.accept(CudaRuntime.get(d.ordinal()).cudnnDescription()));
    }

    /** The default GPU and its driver, as a report names them. */
    public record DeviceSummary(String gpu, String driver) {
    }

    /** GPU {@code ordinal} as "NAME (sm_CC, N MiB)" and its driver's version; throws when it does not open. */
    public static DeviceSummary deviceSummary(int ordinal) {
        CudaRuntime.Info info = CudaRuntime.get(ordinal).info();
        return new DeviceSummary(info.device() + " (sm_" + info.computeCapability() + ", " + (info.memoryBytes() >> 20) + " MiB)",
                String.valueOf(info.driver()));
    }

    @Override
    public CompiledModel compile(Graph graph, Weights weights, CompileOptions options) {
        Precision p = options.precision();
        weights.checkFits(graph);
        // builds a plan without the GPU, so what the FP16/BF16 kernels cannot run is refused before any device work
        ForwardPlan.of(graph, 1, graph.minInputSize(), graph.minInputSize(), StorageType.of(p), 1);
        CudaRuntime runtime = CudaRuntime.get(options.cuda().resolvedDevice());
        return PlatformThreads.call(() -> new CudaModel(runtime, graph, weights, p, options.cuda()));
    }
}
