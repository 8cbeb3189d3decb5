package dev.mnv3.cpu.fast;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.CpuSettings;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.Weights;

/**
 * The fast CPU backend ({@code cpu}): vectorized with the Vector API at the widest vectors C2
 * compiles on this machine when the JVM has jdk.incubator.vector, plain loops otherwise;
 * multithreaded. FP32 only.
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

    /** True when this instance runs the plain-loop kernels (with {@link CpuSettings#defaults()}). */
    public boolean scalar() {
        return kernels().vectorBits() == 0;
    }

    /** True when this JVM runs the Vector API kernels by default. */
    public static boolean vectorized() {
        return CpuKernels.best().vectorBits() > 0;
    }

    /** Bits per vector of the kernels this instance compiles with: 128, 256, 512, or 0 for plain loops. */
    public int vectorBits() {
        return kernels().vectorBits();
    }

    /**
     * The kernels this instance compiles with, in a few words: the vector width and GEMM tile, or
     * why plain loops run (no jdk.incubator.vector, or no C2 to compile it to vector instructions).
     * Throws IllegalArgumentException for a bad -Dmnv3.cpu.vectorBits.
     */
    @Override
    public String kernelsDescription() {
        return kernels().describe();
    }

    @Override
    public Integer kernelVectorBits() {
        return vectorBits();
    }

    /**
     * True when this instance runs the Vector API and C2 compiles it to vector instructions here;
     * false for plain loops, and for a width forced beyond this CPU's (which runs as Java loops).
     */
    public boolean compiledToVectorInstructions() {
        return vectorBits() > 0 && VectorKernels.intrinsicsProblem() == null;
    }

    private CpuKernels kernels() {
        return kernels(CpuSettings.defaults());
    }

    private CpuKernels kernels(CpuSettings settings) {
        if (forceScalar) return new ScalarKernels("forced by the caller");
        return settings.scalar() ? new ScalarKernels("plain loops asked for (CpuSettings.scalar)") : CpuKernels.best();
    }

    @Override
    public CompiledModel compile(Graph graph, Weights weights, CompileOptions options) {
        if (options.precision() != Precision.FP32) {
            throw new IllegalArgumentException(NAME + " runs FP32 only, not " + options.precision()
                    + " (the reduced precisions run on the GPU: the cuda backend)");
        }
        weights.checkFits(graph);
        Weights.reserveFor(graph, "a packed copy of the weights of " + graph.config().describe());
        return new FastModel(graph, weights, options, WarmStart.around(kernels(options.cpu()), options.cpu()));
    }
}
