package dev.mnv3.cpu.fast;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.Weights;

/**
 * The fast CPU backend ({@code cpu}): vectorized with the Vector API when the JVM has
 * jdk.incubator.vector, plain loops otherwise; multithreaded. FP32 only.
 */
public final class FastBackend implements Backend {
    public static final String NAME = "cpu";

    private final boolean forceScalar;

    public FastBackend() {
        this(false);
    }

    /** {@code forceScalar} selects the plain-loop kernels even where the Vector API is present (tests). */
    public FastBackend(boolean forceScalar) {
        this.forceScalar = forceScalar;
    }

    @Override
    public String name() {
        return NAME;
    }

    /** True when this instance runs the plain-loop kernels. */
    public boolean scalar() {
        return forceScalar || !VectorSupport.AVAILABLE;
    }

    /** True when this JVM runs the Vector API kernels. */
    public static boolean vectorized() {
        return VectorSupport.AVAILABLE;
    }

    /**
     * Milliseconds per run spent in each node of a model compiled by this backend, over
     * {@code runs} runs of {@code input}: where the time goes.
     */
    public static java.util.Map<String, Double> profile(CompiledModel model, dev.mnv3.core.tensor.Tensor input, int runs) {
        if (!(model instanceof FastModel m)) throw new IllegalArgumentException("not a model of the " + NAME + " backend");
        return m.profile(input, runs);
    }

    @Override
    public CompiledModel compile(Graph graph, Weights weights, CompileOptions options) {
        if (options.precision() != Precision.FP32) {
            throw new IllegalArgumentException(NAME + " runs FP32 only, not " + options.precision()
                    + " (the reduced precisions run on the GPU: --backend cuda)");
        }
        weights.checkFits(graph);
        Weights.reserveFor(graph, "a packed copy of the weights of " + graph.config().describe());
        return new FastModel(graph, weights, options, forceScalar ? new ScalarKernels() : Kernels.best());
    }
}
