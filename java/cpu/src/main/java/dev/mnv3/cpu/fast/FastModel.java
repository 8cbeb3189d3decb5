package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.GlobalAvgPool;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.MemoryLimitException;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The fast CPU path. Activations are NHWC; BatchNorm is folded; 1x1 convs are register-tiled
 * GEMMs; depthwise convs are vectorized over channels with the activation fused. Where a
 * block's expansion would not fit in cache, the expansion and the depthwise conv are fused:
 * expanded rows live in a ring of k rows and each is computed once, just before the depthwise
 * row that first needs it. The SE channel scale is folded into a copy of the projection weights
 * (project(x * s) = (W diag(s)) x) where those are fewer than the depthwise output's values, and
 * otherwise multiplies that output; the residual add is part of the projection's epilogue.
 *
 * <p>Batch 1 runs every step with its rows split across all threads. A larger batch runs in
 * chunks of up to {@code -Dmnv3.cpu.stack} images (default {@value #DEFAULT_STACK}): the wide
 * early layers one image per thread, then, from the first narrow layer on ({@link Plan#lateFrom},
 * the 14x14 and 7x7 stages at 224), the chunk's images together, threads splitting every step:
 * each 1x1 conv is one GEMM over all their pixels, so its weights stream once per chunk rather
 * than once per image. The classifier runs once for the whole batch. Buffers are planned per
 * input size and reused across runs.
 */
final class FastModel implements CompiledModel {
    /** Expansions bigger than this (bytes) are fused with the depthwise conv instead of materialized. */
    private static final int FUSE_EXPANSION_BYTES = 256 * 1024;
    static final int DEFAULT_STACK = 1;

    private final Graph graph;
    private final CpuKernels kernels;
    private final WorkerPool pool;
    private final List<Object> steps = new ArrayList<>();
    private final ParallelFor[] serial;
    private final ParallelFor pooled;
    /** Images whose late layers run together; 1: one image per thread throughout. */
    private final int stack;
    private Plan plan;
    private volatile boolean closed;
    /** Nanoseconds per node summed over profiled runs (see {@link #profile}); null when not profiling. */
    private AtomicLongArray nodeNanos; // atomic: with a batch, threads add their images' times concurrently

    FastModel(Graph graph, Weights weights, CompileOptions options, CpuKernels kernels) {
        this.graph = graph;
        this.kernels = kernels;
        double eps = graph.config().bnEps();
        for (Node n : graph.nodes()) {
            steps.add(switch (n) {
                case ConvBnAct c when c.name().equals("features.0") -> PreparedLayers.Stem.of(c, weights, eps, kernels);
                case ConvBnAct c -> PreparedLayers.Pointwise.of(c, weights, eps, kernels);
                case Bottleneck b -> PreparedLayers.Block.of(b, weights, eps, kernels);
                case GlobalAvgPool p -> p;
                case Linear l -> PreparedLayers.Dense.of(l, weights, kernels);
            });
        }
        stack = Integer.getInteger("mnv3.cpu.stack", DEFAULT_STACK);
        if (stack < 1) throw new IllegalArgumentException("-Dmnv3.cpu.stack must be >= 1, got " + stack);
        pool = new WorkerPool(options.resolvedThreads());
        serial = new ParallelFor[pool.size()];
        for (int w = 0; w < serial.length; w++) serial[w] = ParallelFor.serial(w);
        pooled = ParallelFor.pooled(pool);
    }

    @Override
    public Graph graph() {
        return graph;
    }

    @Override
    public String backend() {
        return FastBackend.NAME;
    }

    int threads() {
        return pool.size();
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
            plan = new Plan(h, w);
        }
        Plan p = plan;
        p.reserveBatch(n);
        Tensor logits = Tensor.zeros(n, graph.numClasses());
        Map<String, Tensor> trace = traced ? traceTensors(p, n, logits) : null;
        if (n == 1) {
            runSteps(0, p.poolIndex + 1, input, 0, 1, p.own[0], p, pooled, trace);
        } else {
            for (int first = 0; first < n; first += p.chunkImages) chunk(input, first, Math.min(p.chunkImages, n - first), p, trace);
        }
        classifier(p, n, logits, trace);
        return new Result(logits, trace);
    }

    /**
     * Images [first, first + images) up to the global average pool: one per thread (left-over
     * images with their rows split across threads) up to the late layers, then all together.
     */
    private void chunk(Tensor input, int first, int images, Plan p, Map<String, Tensor> trace) {
        boolean stacked = stack > 1 && p.lateFrom <= p.poolIndex;
        int upTo = stacked ? p.lateFrom : p.poolIndex + 1, size = (int) p.shapes.get(upTo).size();
        int threads = pool.size(), across = images / threads * threads;
        ImageJob early = (slot, worker, par) -> {
            float[] out = runSteps(0, upTo, input, first + slot, 1, p.own[worker], p, par, trace);
            if (stacked) System.arraycopy(out, 0, p.stacked.x, slot * size, size);
        };
        if (across > 0) pool.run(across, (slot, worker) -> early.run(slot, worker, serial[worker]));
        for (int slot = across; slot < images; slot++) early.run(slot, 0, pooled);
        if (stacked) runSteps(p.lateFrom, p.poolIndex + 1, input, first, images, p.stacked, p, pooled, trace);
    }

    /** One image of a chunk: its slot in the chunk, the worker whose buffers it uses, how its rows run. */
    private interface ImageJob {
        void run(int slot, int worker, ParallelFor par);
    }

    /**
     * Layers [from, to) on {@code images} images (the batch's images from {@code first}) stacked
     * in {@code buf}, whose x holds their input; the pooled features go to the batch buffer.
     * Returns the buffer that holds the last step's output.
     */
    private float[] runSteps(int from, int to, Tensor input, int first, int images, Buffers buf, Plan p, ParallelFor par,
                          Map<String, Tensor> trace) {
        float[] cur = buf.x, other = buf.y;
        AtomicLongArray timing = nodeNanos;
        for (int i = from; i < to; i++) {
            long started = timing != null ? System.nanoTime() : 0;
            Shape is = p.shapes.get(i), os = p.shapes.get(i + 1);
            float[] out;
            switch (steps.get(i)) {
                case PreparedLayers.Stem s -> {
                    stem(s, input.data(), first * 3 * p.height * p.width, is, cur, p, par);
                    out = cur;
                }
                case PreparedLayers.Block b -> {
                    block(b, cur, other, is, os, images, buf, p, par);
                    out = other;
                    other = cur;
                    cur = out;
                }
                case PreparedLayers.Pointwise pw -> {
                    pointwise(pw, cur, null, other, images * is.height() * is.width(), par, pw.weight().data, p);
                    out = other;
                    other = cur;
                    cur = out;
                }
                case GlobalAvgPool gp -> {
                    averagePool(cur, is, first, images, p, par);
                    out = null;
                }
                default -> throw new AssertionError(steps.get(i));
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

    /** Each image's channel means into the batch's pooled features. */
    private void averagePool(float[] x, Shape is, int first, int images, Plan p, ParallelFor par) {
        int hw = is.height() * is.width(), c = is.channels();
        par.rows(images, 1, (lo, hi, w) -> {
            float[] sums = p.scratch[w].sums;
            for (int img = lo; img < hi; img++) {
                kernels.channelSums(x, img * hw * c, hw, c, sums);
                for (int ch = 0; ch < c; ch++) p.pooled[(first + img) * c + ch] = sums[ch] / hw;
            }
        });
    }

    /**
     * The classifier for the whole batch at once: each linear layer is one [N, in] x [in, out]
     * GEMM, so its weights (megabytes) stream from memory once per batch, not once per image.
     * Threads split the output columns.
     */
    private void classifier(Plan p, int n, Tensor logits, Map<String, Tensor> trace) {
        float[] x = p.pooled;
        int in = p.shapes.get(p.poolIndex + 1).channels();
        for (int i = p.poolIndex + 1; i < steps.size(); i++) {
            long started = nodeNanos != null ? System.nanoTime() : 0;
            PackedWeights wt = ((PreparedLayers.Dense) steps.get(i)).weight();
            Activation act = ((PreparedLayers.Dense) steps.get(i)).node().activation();
            float[] src = x, dst = p.dense[i - p.poolIndex - 1];
            int k = in, blocks = (wt.paddedN + 63) / 64;
            pool.run(blocks, (t, w) -> kernels.gemm(src, 0, k, k, wt.data, wt.paddedN, wt.bias, act, null, 0, dst, 0, 0, n,
                    t * 64, Math.min(wt.paddedN, (t + 1) * 64), p.scratch[w].tile));
            Tensor out = i == steps.size() - 1 ? logits : trace != null ? trace.get(graph.nodes().get(i).name()) : null;
            if (out != null) {
                for (int img = 0; img < n; img++) System.arraycopy(dst, img * wt.paddedN, out.data(), img * wt.n, wt.n);
            }
            x = dst;
            in = wt.n;
            if (nodeNanos != null) nodeNanos.addAndGet(i, System.nanoTime() - started);
        }
    }

    private void stem(PreparedLayers.Stem s, float[] in, int inOff, Shape is, float[] dst, Plan p, ParallelFor par) {
        DepthwiseGeometry g = DepthwiseGeometry.of(s.conv(), is.height(), is.width());
        PackedWeights wt = s.weight();
        int n = wt.paddedN, ow = g.outWidth(), lda = PreparedLayers.Stem.pixelStride(g);
        par.rows(g.outHeight(), 1, (lo, hi, w) -> {
            float[] row = p.scratch[w].patchRow, tile = p.scratch[w].tile;
            for (int oy = lo; oy < hi; oy++) {
                PreparedLayers.Stem.patchRow(g, in, inOff, oy, row);
                kernels.gemm(row, 0, lda, wt.k, wt.data, n, wt.bias, s.conv().activation(), null, 0, dst, oy * ow * n, 0, ow, 0, n,
                        tile);
            }
        });
    }

    /** A bottleneck on {@code images} stacked images: src [images][H][W][Cin] to dst [images][Ho][Wo][Cout]. */
    private void block(PreparedLayers.Block b, float[] src, float[] dst, Shape is, Shape os, int images, Buffers buf, Plan p, ParallelFor par) {
        PreparedLayers.Depthwise dw = b.depthwise();
        DepthwiseGeometry g = DepthwiseGeometry.of(dw.conv(), is.height(), is.width());
        int outRow = g.outWidth() * g.channels(), outPixels = os.height() * os.width();
        if (ringPath(b, is)) {
            if (images != 1) throw new AssertionError("the ring runs one image at a time");
            par.rows(g.outHeight(), 1, (lo, hi, w) -> ringRows(b, g, src, buf.depthwise, lo, hi, p.scratch[w]));
        } else {
            float[] in = src;
            if (b.expand() != null) {
                pointwise(b.expand(), src, null, buf.expanded, images * is.height() * is.width(), par, b.expand().weight().data, p);
                in = buf.expanded;
            }
            float[] unpadded = in;
            int paddedHeight = g.height() + 2 * g.pad(), paddedRow = (g.width() + 2 * g.pad()) * g.channels();
            par.rows(images * paddedHeight, 1, (lo, hi, w) -> padRows(g, unpadded, buf.padded, lo, hi));
            par.rows(images * g.outHeight(), 1, (lo, hi, w) -> {
                int[] rows = p.scratch[w].rows;
                for (int r = lo; r < hi; r++) {
                    int top = r / g.outHeight() * paddedHeight + r % g.outHeight() * g.stride();
                    for (int ky = 0; ky < g.kernel(); ky++) rows[ky] = (top + ky * g.dilation()) * paddedRow;
                    kernels.depthwisePaddedRow(g, buf.padded, rows, dw.weight(), dw.bias(), dw.conv().activation(), buf.depthwise,
                            r * outRow);
                }
            });
        }
        float[] projection = b.project().weight().data;
        if (b.se() != null) projection = squeezeExcite(b, outPixels, images, buf, p, par);
        pointwise(b.project(), buf.depthwise, b.node().residual() ? src : null, dst, images * outPixels, par, projection, p);
    }

    /**
     * Wide feature maps go through the ring of padded rows; an expansion is then computed row by
     * row into it instead of being materialized. Narrow maps (14 and 7 wide at 224) keep
     * whole-image GEMMs, whose tiles a single row would not fill, and are copied into a
     * zero-bordered buffer for the same depthwise kernels.
     */
    private static boolean ringPath(PreparedLayers.Block b, Shape in) {
        return in.width() >= 28
                && (b.expand() == null || (long) in.height() * in.width() * b.node().expSize() * 4 > FUSE_EXPANSION_BYTES);
    }

    /**
     * Rows [lo, hi) of the zero-bordered copy of stacked feature maps (each image's padded rows
     * follow the previous image's): the top and bottom rows and the left and right borders are
     * zeroed each time, since blocks of other shapes share the buffer.
     */
    private static void padRows(DepthwiseGeometry g, float[] src, float[] dst, int lo, int hi) {
        int c = g.channels(), pad = g.pad(), rowFloats = g.width() * c, left = pad * c, paddedRow = rowFloats + 2 * left;
        int paddedHeight = g.height() + 2 * pad;
        for (int py = lo; py < hi; py++) {
            int img = py / paddedHeight, iy = py % paddedHeight - pad, o = py * paddedRow;
            if (iy < 0 || iy >= g.height()) {
                Arrays.fill(dst, o, o + paddedRow, 0f);
            } else {
                Arrays.fill(dst, o, o + left, 0f);
                System.arraycopy(src, (img * g.height() + iy) * rowFloats, dst, o + left, rowFloats);
                Arrays.fill(dst, o + left + rowFloats, o + paddedRow, 0f);
            }
        }
    }

    /**
     * Depthwise output rows [lo, hi) through a ring of (k-1)*dilation+1 zero-padded input rows.
     * Each input row enters the ring once per call, when first needed: computed by the
     * expansion GEMM, or copied from the block input when the block has no expansion.
     */
    private void ringRows(PreparedLayers.Block b, DepthwiseGeometry g, float[] src, float[] out, int lo, int hi, Scratch ws) {
        PreparedLayers.Pointwise ex = b.expand();
        PreparedLayers.Depthwise dw = b.depthwise();
        int c = g.channels(), ringRows = (g.kernel() - 1) * g.dilation() + 1;
        int padded = (g.width() + 2 * g.pad()) * c, left = g.pad() * c, rowFloats = g.width() * c, outRow = g.outWidth() * c;
        int inChannels = ex != null ? ex.conv().inChannels() : c, inRow = g.width() * inChannels;
        int[] held = ws.ringHeld, rows = ws.rows;
        float[] ring = ws.ring;
        for (int slot = 0; slot < ringRows; slot++) {
            held[slot] = -1;
            Arrays.fill(ring, slot * padded, slot * padded + left, 0f);
            Arrays.fill(ring, slot * padded + left + rowFloats, (slot + 1) * padded, 0f);
        }
        for (int oy = lo; oy < hi; oy++) {
            for (int ky = 0; ky < g.kernel(); ky++) {
                int iy = oy * g.stride() - g.pad() + ky * g.dilation();
                if (iy < 0 || iy >= g.height()) {
                    rows[ky] = -1;
                    continue;
                }
                int slot = iy % ringRows;
                if (held[slot] != iy) {
                    if (ex != null) {
                        kernels.pointwise(src, iy * inRow, inChannels, ex.weight().data, c, ex.weight().bias, ex.act(), null, 0,
                                ring, slot * padded + left, 0, g.width(), ws.tile);
                    } else {
                        System.arraycopy(src, iy * inRow, ring, slot * padded + left, rowFloats);
                    }
                    held[slot] = iy;
                }
                rows[ky] = slot * padded;
            }
            kernels.depthwisePaddedRow(g, ring, rows, dw.weight(), dw.bias(), dw.conv().activation(), out, oy * outRow);
        }
    }

    /**
     * Squeeze-excitation of each image's depthwise output: its channel means through the two FCs
     * give the channel scale. One image (in buffers of its own) whose projection has fewer
     * weights than the map has values gets the scale folded into a copy of the projection
     * weights, which is returned;
     * otherwise every image's map is scaled in place and the projection weights are returned as
     * they are (a stack of images shares them).
     */
    private float[] squeezeExcite(PreparedLayers.Block b, int pixels, int images, Buffers buf, Plan p, ParallelFor par) {
        PreparedLayers.Se se = b.se();
        int c = se.se().channels(), sq = se.se().squeezeChannels();
        par.rows(images, 1, (lo, hi, w) -> {
            Scratch s = p.scratch[w];
            for (int img = lo; img < hi; img++) {
                kernels.channelSums(buf.depthwise, img * pixels * c, pixels, c, s.sums);
                for (int i = 0; i < c; i++) s.sums[i] /= pixels;
                // the packed widths: a squeeze of exp / 4 need not be a multiple of 8 (the padding computes relu(0) = 0);
                // fc2's padded width is c (channel widths are multiples of 8): each image's scales stay in its c floats
                kernels.pointwise(s.sums, 0, c, se.fc1().data, se.fc1().paddedN, se.fc1().bias, Activation.RELU, null, 0,
                        s.squeezed, 0, 0, 1, s.tile);
                kernels.pointwise(s.squeezed, 0, sq, se.fc2().data, se.fc2().paddedN, se.fc2().bias, Activation.HARDSIGMOID, null,
                        0, buf.scales, img * c, 0, 1, s.tile);
            }
        });
        PackedWeights projection = b.project().weight();
        if (buf.foldsSe && projection.n < pixels) {
            int panel = projection.panel, panels = (projection.paddedN + panel - 1) / panel;
            par.rows(panels, 1, (lo, hi, w) -> projection.scaledInto(buf.scales, buf.scaledProjection, lo * panel,
                    Math.min(projection.paddedN, hi * panel)));
            return buf.scaledProjection;
        }
        par.rows(images * pixels, 1, (lo, hi, w) -> {
            for (int r = lo; r < hi; ) {
                int img = r / pixels, end = Math.min(hi, (img + 1) * pixels);
                kernels.scaleChannels(buf.depthwise, r * c, end - r, c, buf.scales, img * c);
                r = end;
            }
        });
        return projection.data;
    }

    /**
     * A 1x1 conv over {@code pixels} rows. Split across threads by rows where the feature map is
     * the bigger operand, by output columns where the weights are (late 7x7 layers: splitting rows
     * there would make every thread stream all the weights).
     */
    private void pointwise(PreparedLayers.Pointwise pw, float[] a, float[] res, float[] c, int pixels, ParallelFor par, float[] weights, Plan p) {
        int k = pw.conv().inChannels(), n = pw.weight().paddedN, panel = pw.weight().panel;
        float[] bias = pw.weight().bias;
        if (par.threads() > 1 && n > pixels) {
            int panels = (n + panel - 1) / panel;
            par.rows(panels, 1, (lo, hi, w) -> kernels.gemm(a, 0, k, k, weights, n, bias, pw.act(), res, 0, c, 0, 0, pixels,
                    lo * panel, Math.min(n, hi * panel), p.scratch[w].tile));
        } else {
            par.rows(pixels, 6, (lo, hi, w) -> kernels.pointwise(a, 0, k, weights, n, bias, pw.act(), res, 0, c, 0, lo, hi,
                    p.scratch[w].tile));
        }
    }

    /**
     * Wall time per node in milliseconds: the least over {@code runs} runs of {@code input}, the
     * time other processes on the machine did not inflate. Where images run one per thread,
     * every thread adds its own time (thread time); steps that threads share count their wall time.
     */
    synchronized Map<String, Double> profile(Tensor input, int runs) {
        double[] least = new double[steps.size()];
        Arrays.fill(least, Double.POSITIVE_INFINITY);
        try {
            for (int r = 0; r < runs; r++) {
                nodeNanos = new AtomicLongArray(steps.size());
                forward(input, false);
                for (int i = 0; i < least.length; i++) least[i] = Math.min(least[i], nodeNanos.get(i) / 1e6);
            }
        } finally {
            nodeNanos = null;
        }
        Map<String, Double> ms = new LinkedHashMap<>();
        for (int i = 0; i < steps.size(); i++) ms.put(graph.nodes().get(i).name(), least[i]);
        return ms;
    }

    private Map<String, Tensor> traceTensors(Plan p, int n, Tensor logits) {
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

    /** Shapes and buffers for one input size. */
    private final class Plan {
        final int height, width;
        final List<Shape> shapes;
        /** Index of the global average pool: the per-image part ends there, the classifier runs per batch. */
        final int poolIndex;
        /** The first step from which a batch's images run stacked: every later block's map is narrow (no ring). */
        final int lateFrom;
        /** Each thread's buffers for the image it runs, and its scratch space. */
        final Buffers[] own;
        final Scratch[] scratch;
        /** Images per chunk of a batch, and the stacked late layers' buffers for them. */
        int chunkImages;
        Buffers stacked;
        /** The batch's pooled features [N][C] and each classifier layer's output [N][padded out]. */
        float[] pooled = new float[0];
        float[][] dense = new float[0][];
        private int batchCapacity;

        Plan(int height, int width) {
            this.height = height;
            this.width = width;
            this.shapes = graph.inferShapes(height, width);
            int pool = 0;
            while (!(steps.get(pool) instanceof GlobalAvgPool)) pool++;
            this.poolIndex = pool;
            int late = pool;
            while (late > 1 && !(steps.get(late - 1) instanceof PreparedLayers.Block b && ringPath(b, shapes.get(late - 1)))
                    && !(steps.get(late - 1) instanceof PreparedLayers.Stem)) {
                late--;
            }
            this.lateFrom = late;
            int threads = FastModel.this.pool.size();
            String what = "the " + FastBackend.NAME + " backend's buffers for " + graph.config().describe() + " at " + height
                    + "x" + width + " on " + threads + " thread" + (threads > 1 ? "s" : "");
            Sizes one = sizes(0, poolIndex + 1, 1, what);
            long perThread = Buffers.floats(one, true) + Scratch.floats(one, kernels.scratchFloats());
            // each part fits one array and there are at most 256 threads: exact in a long
            MemoryBudget.reserve(MemoryBudget.floatBytes(perThread * threads, what), what);
            own = new Buffers[threads];
            scratch = new Scratch[threads];
            for (int i = 0; i < threads; i++) {
                own[i] = new Buffers(one, true);
                scratch[i] = new Scratch(one, kernels.scratchFloats());
            }
        }

        /**
         * The largest size of each buffer over steps [from, to) for {@code images} stacked images;
         * {@code what} names them should the sizes overflow a long.
         */
        private Sizes sizes(int from, int to, int images, String what) {
            Sizes z = new Sizes(images, what);
            for (int i = from; i < to; i++) {
                Shape in = shapes.get(i), out = shapes.get(i + 1);
                z.channels = Math.max(z.channels, Math.max(in.channels(), out.channels()));
                switch (steps.get(i)) {
                    case PreparedLayers.Stem s -> {
                        z.act = Math.max(z.act, out.size());
                        z.patchRow = PreparedLayers.Stem.rowFloats(DepthwiseGeometry.of(s.conv(), in.height(), in.width()));
                    }
                    case PreparedLayers.Pointwise pw -> z.act = Math.max(z.act, z.stacked(Math.max(in.size(), out.size())));
                    case GlobalAvgPool gp -> z.act = Math.max(z.act, z.stacked(in.size()));
                    case PreparedLayers.Block b -> {
                        // one image's sizes are below 2^16 * 2^16 * 2^19 (Graph and BottleneckSpec limits): exact in a long
                        long exp = b.node().expSize();
                        ConvBnAct dw = b.depthwise().conv();
                        long paddedW = in.width() + 2L * dw.padding(), paddedH = in.height() + 2L * dw.padding();
                        z.act = Math.max(z.act, z.stacked(Math.max(in.size(), out.size())));
                        z.kernel = Math.max(z.kernel, dw.kernel());
                        if (ringPath(b, in)) {
                            int ring = (dw.kernel() - 1) * dw.dilation() + 1;
                            z.ringRows = Math.max(z.ringRows, ring);
                            z.ring = Math.max(z.ring, ring * paddedW * exp);
                        } else {
                            if (b.expand() != null) z.expanded = Math.max(z.expanded, z.stacked((long) in.height() * in.width() * exp));
                            z.padded = Math.max(z.padded, z.stacked(paddedH * paddedW * exp));
                        }
                        z.depthwise = Math.max(z.depthwise, z.stacked((long) out.height() * out.width() * exp));
                        if (b.se() != null) {
                            z.projection = Math.max(z.projection, b.project().weight().floats());
                            z.channels = Math.max(z.channels, b.se().fc1().paddedN); // the squeeze, padded to 8
                        }
                    }
                    default -> { }
                }
            }
            z.scales = z.stacked(z.channels);
            return z;
        }

        /** Grows the batch buffers to hold {@code n} images (they only grow, so a steady batch size allocates nothing). */
        void reserveBatch(int n) {
            if (n <= batchCapacity) return;
            String what = "the classifier's buffers for a batch of " + n;
            long floats = (long) n * shapes.get(poolIndex + 1).channels();
            for (int i = poolIndex + 1; i < steps.size(); i++) floats += (long) n * ((PreparedLayers.Dense) steps.get(i)).weight().paddedN;
            MemoryBudget.reserve(MemoryBudget.floatBytes(floats, what), what);
            pooled = new float[MemoryBudget.arrayLength((long) n * shapes.get(poolIndex + 1).channels(), what)];
            dense = new float[steps.size() - poolIndex - 1][];
            for (int i = 0; i < dense.length; i++) {
                dense[i] = new float[MemoryBudget.arrayLength((long) n * ((PreparedLayers.Dense) steps.get(poolIndex + 1 + i)).weight().paddedN,
                        what)];
            }
            chunkImages = stack > 1 ? Math.min(n, stack) : n;
            if (stack > 1 && lateFrom <= poolIndex) {
                String late = "the " + FastBackend.NAME + " backend's buffers for the late layers of " + chunkImages
                        + " stacked images of " + graph.config().describe() + " at " + height + "x" + width;
                Sizes z = sizes(lateFrom, poolIndex + 1, chunkImages, late);
                stacked = null; // the smaller stack's buffers are garbage before the new ones are counted
                MemoryBudget.reserve(MemoryBudget.floatBytes(Buffers.floats(z, false), late), late);
                stacked = new Buffers(z, false);
            }
            batchCapacity = n;
        }
    }

    /** The largest size of each buffer over part of the network, in floats (ints for the row tables). */
    private static final class Sizes {
        long act, expanded, padded, depthwise, channels, scales, projection, patchRow, ring;
        int ringRows, kernel;
        /** Images stacked in these buffers, and what they are (for an error). */
        private final int images;
        private final String what;

        Sizes(int images, String what) {
            this.images = images;
            this.what = what;
        }

        /** One image's floats times the stacked images. */
        long stacked(long floats) {
            try {
                return Math.multiplyExact(floats, images);
            } catch (ArithmeticException e) {
                throw new MemoryLimitException(what + " needs more than 2^63 floats");
            }
        }

        /** {@code n} as an array length, or an error naming what would not fit one Java array. */
        int length(long n) {
            return MemoryBudget.arrayLength(n, what);
        }
    }

    /**
     * The activations of a stack of images: ping-pong block outputs (x holds the input), the
     * expansion and its zero-bordered copy, the depthwise output, the SE scales and, for one
     * image, its scaled copy of a projection's weights.
     */
    private static final class Buffers {
        final float[] x, y, expanded, padded, depthwise, scales, scaledProjection;
        /** One image's buffers, which may fold the SE scale into a copy of the projection weights. */
        final boolean foldsSe;

        Buffers(Sizes z, boolean foldsSe) {
            this.foldsSe = foldsSe;
            x = new float[z.length(z.act)];
            y = new float[z.length(z.act)];
            expanded = new float[z.length(z.expanded)];
            padded = new float[z.length(z.padded)];
            depthwise = new float[z.length(z.depthwise)];
            scales = new float[z.length(z.scales)];
            scaledProjection = new float[foldsSe ? z.length(z.projection) : 0];
        }

        /** The floats of one {@code Buffers(z, foldsSe)}, each array checked to fit (every one is below 2^31). */
        static long floats(Sizes z, boolean foldsSe) {
            long total = 0;
            for (long n : new long[] {z.act, z.act, z.expanded, z.padded, z.depthwise, z.scales, foldsSe ? z.projection : 0}) {
                total += z.length(n);
            }
            return total;
        }
    }

    /** One thread's scratch space: the GEMM tile, depthwise row offsets, the ring and the stem's row, SE vectors. */
    private static final class Scratch {
        final float[] tile, patchRow, ring, sums, squeezed;
        final int[] rows, ringHeld;

        Scratch(Sizes z, int tileFloats) {
            tile = new float[tileFloats];
            patchRow = new float[z.length(z.patchRow)];
            ring = new float[z.length(z.ring)];
            sums = new float[z.length(z.channels)];
            squeezed = new float[z.length(z.channels)];
            rows = new int[z.kernel];
            ringHeld = new int[z.ringRows];
        }

        /** The floats of one {@code Scratch(z, tileFloats)}, each array checked to fit. */
        static long floats(Sizes z, int tileFloats) {
            long total = tileFloats;
            for (long n : new long[] {z.patchRow, z.ring, z.channels, z.channels}) total += z.length(n);
            return total;
        }
    }
}
