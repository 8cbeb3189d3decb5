package dev.mnv3.cpu;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.Weights;

/** The plain, single-threaded CPU reference: every op written out, BatchNorm folded at compile time. */
public final class ReferenceBackend implements Backend {
    public static final String NAME = "cpu-reference";

    @Override
    public String name() {
        return NAME;
    }

    /** Plain loops. */
    @Override
    public Integer kernelVectorBits() {
        return 0;
    }

    @Override
    public int priority() {
        return -10;
    }

    @Override
    public CompiledModel compile(Graph graph, Weights weights, CompileOptions options) {
        if (options.precision() != dev.mnv3.core.backend.Precision.FP32) {
            throw new IllegalArgumentException(NAME + " runs FP32 only, not " + options.precision()
                    + " (the reduced precisions run on the GPU: the cuda backend)");
        }
        weights.checkFits(graph);
        Weights.reserveFor(graph, "a folded copy of the weights of " + graph.config().describe());
        return new ReferenceModel(graph, weights);
    }
}
