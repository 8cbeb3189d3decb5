package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;
import dev.mnv3.core.backend.CpuSettings;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.cpu.fast.PreparedLayers.Layer;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/**
 * The vector kernels once C2 has compiled them, plain loops before. Until then every Vector API
 * operation allocates and runs a Java loop, many times slower than plain scalar code, so a fresh
 * JVM's first batches would take seconds. A model starts on plain loops that read the vector
 * kernels' weight panels, while a background thread runs the vector kernels on a small copy of
 * the model (the same packed weights, a small input) until they beat the plain loops there
 * {@value #WINS} times in a row; then every call switches over. The two differ only in the order
 * of float sums (both are checked against the same reference). Only with
 * {@link CpuSettings#warmStart()} ({@code -Dmnv3.cpu.warmStart=true} for the CLI): on two cores
 * the warm-up competes with C2 and costs
 * throughput over the first seconds, while the first result comes sooner.
 */
final class WarmStart implements CpuKernels {
    /** The warm-up's input: small enough to be cheap, large enough for every tile and window path (8-wide rows at 1/8). */
    private static final int SIDE = 64, IMAGES = 2, WINS = 3;
    /** The vector kernels run from then on even if they never won (a machine this busy gains nothing from waiting). */
    private static final long GIVE_UP_NANOS = 30_000_000_000L;

    private final CpuKernels vector, scalar;
    private volatile CpuKernels current;

    WarmStart(CpuKernels vector) {
        this.vector = vector;
        this.scalar = new ScalarKernels("until C2 has compiled the vector kernels", vector.panel(), vector.panel() / 2);
        this.current = scalar;
    }

    /** {@code kernels} behind a warm start when they are vector kernels and the settings ask for it; otherwise as they are. */
    static CpuKernels around(CpuKernels kernels, CpuSettings settings) {
        return kernels.vectorBits() > 0 && settings.warmStart() ? new WarmStart(kernels) : kernels;
    }

    /** True once calls go to the vector kernels. */
    boolean vectorsRunning() {
        return current == vector;
    }

    /**
     * Starts the background warm-up of the vector kernels on {@code layers} (packed by this
     * instance), which stops when {@code closed} says so.
     */
    void start(Graph graph, List<Layer> layers, int stack, BooleanSupplier closed) {
        Thread.ofPlatform().daemon().name("mnv3-cpu-warm-up").start(() -> {
            try (FastModel v = new FastModel(graph, layers, vector, stack, 1); FastModel s = new FastModel(graph, layers, scalar, stack, 1)) {
                float[] x = new float[IMAGES * Graph.INPUT_CHANNELS * SIDE * SIDE];
                SplittableRandom rnd = new SplittableRandom(1);
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                Tensor input = new Tensor(new int[] {IMAGES, Graph.INPUT_CHANNELS, SIDE, SIDE}, x);
                long giveUp = System.nanoTime() + GIVE_UP_NANOS;
                for (int wins = 0; wins < WINS && !closed.getAsBoolean() && System.nanoTime() < giveUp; ) {
                    long t0 = System.nanoTime();
                    v.run(input);
                    long t1 = System.nanoTime();
                    s.run(input);
                    wins = t1 - t0 < System.nanoTime() - t1 ? wins + 1 : 0;
                }
            } catch (RuntimeException e) {
                // no memory for the small copy, say: the vector kernels warm up on the model's own calls, as without a warm start
            } finally {
                current = vector;
            }
        });
    }

    @Override
    public void gemm(float[] a, int aOff, int lda, int k, float[] b, int n, float[] bias, Activation act,
                     float[] res, int resOff, float[] c, int cOff, int m0, int m1, int j0, int j1, float[] scratch) {
        current.gemm(a, aOff, lda, k, b, n, bias, act, res, resOff, c, cOff, m0, m1, j0, j1, scratch);
    }

    @Override
    public void depthwisePaddedRow(DepthwiseGeometry g, float[] in, int[] rows, float[] w, float[] bias, Activation act,
                                   float[] out, int outOff) {
        current.depthwisePaddedRow(g, in, rows, w, bias, act, out, outOff);
    }

    @Override
    public void channelSums(float[] x, int off, int pixels, int stride, int channels, float[] sums) {
        current.channelSums(x, off, pixels, stride, channels, sums);
    }

    @Override
    public void scaleChannels(float[] x, int off, int pixels, int channels, float[] scale, int scaleOff) {
        current.scaleChannels(x, off, pixels, channels, scale, scaleOff);
    }

    @Override
    public int panel() {
        return vector.panel();
    }

    @Override
    public int scratchFloats() {
        return Math.max(vector.scratchFloats(), scalar.scratchFloats());
    }

    @Override
    public PackedWeights pack(float[] outIn, float[] bias, int n, int k) {
        return vector.pack(outIn, bias, n, k);
    }

    @Override
    public int vectorBits() {
        return vector.vectorBits();
    }

    @Override
    public String describe() {
        return vector.describe() + (vectorsRunning() ? "" : "; plain loops until C2 has compiled them");
    }
}
