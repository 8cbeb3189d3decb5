package dev.mnv3.cuda;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.Weights;
import java.util.Locale;

/**
 * The CUDA backend: cuDNN for the dense convolutions, our kernels for the rest, FP32 strict by
 * default, TF32 when asked. Found by {@link java.util.ServiceLoader} as {@code cuda}, and chosen
 * before the CPU backends when a GPU is present.
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
    public String unavailableReason() {
        return CudaRuntime.unavailableReason();
    }

    @Override
    public CompiledModel compile(Graph graph, Weights weights, CompileOptions options) {
        Precision p = options.precision();
        if (p != Precision.FP32 && p != Precision.TF32) {
            throw new IllegalArgumentException(NAME + " runs fp32 and tf32; " + p.name().toLowerCase(Locale.ROOT)
                    + " is not implemented yet");
        }
        CudaRuntime runtime = CudaRuntime.get();
        weights.checkFits(graph);
        return new CudaModel(runtime, graph, weights, p, options.cudaGraphs());
    }
}
