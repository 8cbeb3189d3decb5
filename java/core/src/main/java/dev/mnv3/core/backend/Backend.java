package dev.mnv3.core.backend;

import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.Weights;

/**
 * Something that can run a MobileNetV3 graph: the CPU reference, the fast CPU path, CUDA.
 * Implementations register through {@link java.util.ServiceLoader} and are found by name with
 * {@link Backends}.
 */
public interface Backend {
    /** The name users select it by, e.g. {@code cpu} or {@code cuda}. */
    String name();

    /** Why this backend cannot run here, or null when it can (e.g. no GPU, library missing). */
    default String unavailableReason() {
        return null;
    }

    /** Higher runs first when the user does not choose (CUDA over CPU). */
    default int priority() {
        return 0;
    }

    /**
     * Whether its models live on a device numbered by {@link CudaSettings#device()} (a GPU), which
     * another machine than the caller's may hold: a Spark driver without one still plans a job
     * whose executors have one, and each task picks its executor's device.
     */
    default boolean usesDevices() {
        return false;
    }

    /**
     * Whether one compiled model runs concurrent calls in parallel by itself (the CUDA backend's
     * streams), so that callers share one model rather than compile one per worker.
     */
    default boolean concurrentCalls() {
        return false;
    }

    /** Whether {@link CudaSettings#graphs()} applies: each batch shape captured once, then replayed. */
    default boolean replaysGraphs() {
        return false;
    }

    /** Whether {@link CudaSettings#cudnn()} chooses: its own kernels, or a vendor library's where faster. */
    default boolean kernelLibraryChoice() {
        return false;
    }

    /**
     * The kernels it compiles with, in a few words, for a report (the CPU kernels' vector width and
     * GEMM tile, or why plain loops run); null when it has nothing to say.
     */
    default String kernelsDescription() {
        return null;
    }

    /** Bits per vector of its CPU kernels (0 for plain loops), for a report; null for a backend whose kernels run elsewhere. */
    default Integer kernelVectorBits() {
        return null;
    }

    /**
     * Prepares {@code weights} for {@code graph} (BatchNorm folded, layouts converted, memory
     * planned). Throws {@link BackendUnavailableException} when the backend cannot run here.
     */
    CompiledModel compile(Graph graph, Weights weights, CompileOptions options);

    default CompiledModel compile(Graph graph, Weights weights) {
        return compile(graph, weights, CompileOptions.defaults());
    }
}
