package dev.mnv3.cpu.fast;

import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CpuSettings;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.fast.BufferPlan.Buffers;
import dev.mnv3.cpu.fast.PreparedLayers.AveragePool;
import dev.mnv3.cpu.fast.PreparedLayers.Block;
import dev.mnv3.cpu.fast.PreparedLayers.Dense;
import dev.mnv3.cpu.fast.PreparedLayers.Layer;
import dev.mnv3.cpu.fast.PreparedLayers.Pointwise;
import dev.mnv3.cpu.fast.PreparedLayers.Stem;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The fast CPU path's compiled model: runs the prepared layers ({@link PreparedLayers}) in order
 * over buffers planned per input size ({@link BufferPlan}), and decides which threads run what.
 * Activations are NHWC; BatchNorm is folded; 1x1 convs are register-tiled GEMMs; depthwise convs
 * are vectorized over channels with the activation fused. A bottleneck runs in
 * {@link BottleneckRunner}, the stem and the classifier in {@link StemAndHead}, the inner loops
 * in {@link CpuKernels}.
 *
 * <p>Batch 1 runs every layer with its rows split across all threads. A larger batch runs one
 * image per thread, claimed image by image so that a thread slowed by other work on the machine
 * delays nothing; with a stack of more than one image ({@link CpuSettings#stack}, default
 * {@value CpuSettings#DEFAULT_STACK}) only the wide early layers, up to the first narrow layer
 * ({@link BufferPlan#lateFrom}, the 14x14 and 7x7 stages at 224), and the late layers then run on
 * groups of up to a stack of images together, claimed group by group: each 1x1 conv is one GEMM
 * over the group's pixels and each SE FC one GEMM over their channel means, so the weights stream
 * once per group rather than once per image. The classifier runs once for the whole batch.
 */
final class FastModel implements CompiledModel {
    private final Graph graph;
    private final CpuKernels kernels;
    private final WorkerPool pool;
    private final List<Layer> layers = new ArrayList<>();
    private final BottleneckRunner bottlenecks;
    private final StemAndHead ends;
    private final ParallelFor[] serial;
    private final ParallelFor pooled;
    /** Images whose late layers run together; 1: one image per thread throughout. */
    private final int stack;
    private BufferPlan plan;
    private volatile boolean closed;
    /** Nanoseconds per node summed over profiled runs (see {@link #profile}); null when not profiling. */
    private AtomicLongArray nodeNanos; // atomic: with a batch, threads add their images' times concurrently

    FastModel(Graph graph, Weights weights, CompileOptions options, CpuKernels kernels) {
        this(graph, prepare(graph, weights, kernels), kernels, options.cpu().resolvedStack(), options.resolvedThreads());
        if (kernels instanceof WarmStart w) w.start(graph, layers, stack, () -> closed);
    }

    /** A model over layers already prepared for {@code kernels}' layout (shared, never written). */
    FastModel(Graph graph, List<Layer> layers, CpuKernels kernels, int stack, int threads) {
        this.graph = graph;
        this.kernels = kernels;
        this.layers.addAll(layers);
        this.stack = stack;
        pool = new WorkerPool(threads);
        serial = new ParallelFor[pool.size()];
        for (int w = 0; w < serial.length; w++) serial[w] = ParallelFor.serial(w);
        pooled = ParallelFor.pooled(pool);
        bottlenecks = new BottleneckRunner(kernels);
        ends = new StemAndHead(kernels, pool);
    }

    static List<Layer> prepare(Graph graph, Weights weights, CpuKernels kernels) {
        List<Layer> layers = new ArrayList<>();
        for (Node n : graph.nodes()) layers.add(PreparedLayers.of(n, weights, graph.config().bnEps(), kernels));
        return layers;
    }

    @Override
    public Graph graph() {
        return graph;
    }

    /** The kernels this model calls. */
    CpuKernels kernels() {
        return kernels;
    }

    @Override
    public String backend() {
        return FastBackend.NAME;
    }

    @Override
    public Tensor run(Tensor input) {
        return forward(input, false).logits;
    }

    @Override
    public Map<String, Tensor> trace(Tensor input) {
        return forward(input, true).trace;
    }

    private record Result(Tensor logits, Map<String, Tensor> trace) {
    }

    private synchronized Result forward(Tensor given, boolean traced) {
        if (closed) throw new IllegalStateException("this compiled model was closed");
        Tensor input = CompiledModel.floatInput(graph, given);
        int n = input.dim(0), h = input.dim(2), w = input.dim(3);
        if (plan == null || plan.height != h || plan.width != w) {
            plan = null; // the old buffers are garbage before the new ones are counted against the heap
            plan = new BufferPlan(graph, layers, h, w, pool.size(), kernels.scratchFloats(), stack);
        }
        BufferPlan p = plan;
        p.reserveBatch(n);
        Tensor logits = Tensor.zeros(n, graph.numClasses());
        Map<String, Tensor> trace = traced ? traceTensors(p, n, logits) : null;
        if (n == 1) {
            runLayers(0, p.poolIndex + 1, input, 0, 1, p.own[0], p, pooled, trace);
        } else if (p.stacked.length == 0) {
            eachImage(input, n, p.poolIndex + 1, p, trace);
        } else {
            eachImage(input, n, p.lateFrom, p, trace);
            stacks(input, n, p, trace);
        }
        classifier(p, n, logits, trace);
        return new Result(logits, trace);
    }

    /**
     * Layers [0, to) of every image of the batch, one image per thread, claimed as threads free
     * up; the last images, fewer than the threads, one by one with their rows split across
     * threads. Outputs before the pool go to the batch's late inputs.
     */
    private void eachImage(Tensor input, int n, int to, BufferPlan p, Map<String, Tensor> trace) {
        int across = n - n % pool.size();
        if (across > 0) pool.run(across, (img, worker) -> early(input, img, to, p.own[worker], p, serial[worker], trace));
        for (int img = across; img < n; img++) early(input, img, to, p.own[0], p, pooled, trace);
    }

    private void early(Tensor input, int img, int to, Buffers buf, BufferPlan p, ParallelFor par, Map<String, Tensor> trace) {
        float[] out = runLayers(0, to, input, img, 1, buf, p, par, trace);
        if (to <= p.poolIndex) System.arraycopy(out, 0, p.lateInputs, img * p.lateSize, p.lateSize);
    }

    /**
     * The late layers of the batch's images in {@link BufferPlan#groups} groups of consecutive
     * images, each group on one thread alone, claimed as threads free up, so that no layer waits
     * for the other threads.
     */
    private void stacks(Tensor input, int n, BufferPlan p, Map<String, Tensor> trace) {
        int groups = p.groups(n);
        pool.run(groups, (g, worker) -> {
            int first = (int) ((long) g * n / groups), images = (int) ((long) (g + 1) * n / groups) - first;
            Buffers buf = p.stacked[worker];
            System.arraycopy(p.lateInputs, first * p.lateSize, buf.x, 0, images * p.lateSize);
            runLayers(p.lateFrom, p.poolIndex + 1, input, first, images, buf, p, serial[worker], trace);
        });
    }

    /**
     * Layers [from, to) on {@code images} images (the batch's images from {@code first}) stacked
     * in {@code buf}, whose x holds their input; the pooled features go to the batch buffer.
     * Returns the buffer that holds the last layer's output.
     */
    private float[] runLayers(int from, int to, Tensor input, int first, int images, Buffers buf, BufferPlan p, ParallelFor par,
                              Map<String, Tensor> trace) {
        float[] cur = buf.x, other = buf.y;
        AtomicLongArray timing = nodeNanos;
        for (int i = from; i < to; i++) {
            long started = timing != null ? System.nanoTime() : 0;
            Shape is = p.shapes.get(i), os = p.shapes.get(i + 1);
            float[] out;
            switch (layers.get(i)) {
                case Stem s -> {
                    ends.stem(s, input.data(), first * 3 * p.height * p.width, is, cur, p, par);
                    out = cur;
                }
                case Block b -> {
                    bottlenecks.run(b, cur, other, is, os, images, buf, p, par);
                    out = other;
                    other = cur;
                    cur = out;
                }
                case Pointwise pw -> {
                    bottlenecks.pointwise(pw, cur, null, other, images * is.height() * is.width(), par, pw.weight().data, p);
                    out = other;
                    other = cur;
                    cur = out;
                }
                case AveragePool gp -> {
                    ends.averagePool(cur, is, first, images, p, par);
                    out = null;
                }
                case Dense d -> throw new AssertionError("the classifier runs once per batch: " + d.node().name());
            }
            if (trace != null) {
                float[] dst = trace.get(graph.nodes().get(i).name()).data();
                for (int img = 0; img < images; img++) {
                    if (out != null) toNchw(out, img * (int) os.size(), os, dst, first + img);
                    else toNchw(p.pooled, (first + img) * os.channels(), os, dst, first + img);
                }
            }
            if (timing != null) timing.addAndGet(i, System.nanoTime() - started);
        }
        return cur;
    }

    /**
     * The classifier for the whole batch at once ({@link StemAndHead#dense}), from the pooled
     * features; the last layer's output goes into the logits.
     */
    private void classifier(BufferPlan p, int n, Tensor logits, Map<String, Tensor> trace) {
        float[] x = p.pooled;
        int in = p.shapes.get(p.poolIndex + 1).channels();
        for (int i = p.poolIndex + 1; i < layers.size(); i++) {
            long started = nodeNanos != null ? System.nanoTime() : 0;
            Dense d = (Dense) layers.get(i);
            float[] dst = p.dense[i - p.poolIndex - 1];
            ends.dense(d, x, in, n, dst, p);
            PackedWeights wt = d.weight();
            Tensor out = i == layers.size() - 1 ? logits : trace != null ? trace.get(graph.nodes().get(i).name()) : null;
            if (out != null) {
                for (int img = 0; img < n; img++) System.arraycopy(dst, img * wt.paddedN, out.data(), img * wt.n, wt.n);
            }
            x = dst;
            in = wt.n;
            if (nodeNanos != null) nodeNanos.addAndGet(i, System.nanoTime() - started);
        }
    }

    /**
     * Wall time per node in milliseconds: the least over {@code runs} runs of {@code input}, the
     * time other processes on the machine did not inflate. Where images run one per thread,
     * every thread adds its own time (thread time); steps that threads share count their wall time.
     */
    @Override
    public boolean timesLayers() {
        return true;
    }

    @Override
    public boolean warmedUp() {
        return !(kernels() instanceof WarmStart w) || w.vectorsRunning();
    }

    @Override
    public synchronized Map<String, Double> layerMillis(Tensor input, int runs) {
        double[] least = new double[layers.size()];
        Arrays.fill(least, Double.POSITIVE_INFINITY);
        try {
            for (int r = 0; r < runs; r++) {
                nodeNanos = new AtomicLongArray(layers.size());
                forward(input, false);
                for (int i = 0; i < least.length; i++) least[i] = Math.min(least[i], nodeNanos.get(i) / 1e6);
            }
        } finally {
            nodeNanos = null;
        }
        Map<String, Double> ms = new LinkedHashMap<>();
        for (int i = 0; i < layers.size(); i++) ms.put(graph.nodes().get(i).name(), least[i]);
        return ms;
    }

    private Map<String, Tensor> traceTensors(BufferPlan p, int n, Tensor logits) {
        String what = "the traced outputs of every node for " + n + " image" + (n > 1 ? "s" : "");
        long floats = Math.multiplyExact(graph.traceFloats(p.height, p.width), (long) n);
        MemoryBudget.reserve(MemoryBudget.floatBytes(floats, what), what);
        Map<String, Tensor> t = new LinkedHashMap<>();
        List<Node> nodes = graph.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            Node node = nodes.get(i);
            Shape s = p.shapes.get(i + 1);
            t.put(node.name(), node instanceof Linear ? Tensor.zeros(n, s.channels()) : Tensor.zeros(n, s.channels(), s.height(), s.width()));
        }
        t.put(graph.outputNode(), logits);
        return t;
    }

    private static void toNchw(float[] nhwc, int off, Shape s, float[] dst, int img) {
        int c = s.channels(), hw = s.height() * s.width(), base = img * c * hw;
        for (int px = 0; px < hw; px++) {
            for (int ch = 0; ch < c; ch++) dst[base + ch * hw + px] = nhwc[off + px * c + ch];
        }
    }

    @Override
    public void close() {
        closed = true;
        pool.close();
    }
}
