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
 * row that first needs it. The SE channel scale is folded into a copy of the projection
 * weights (project(x * s) = (W diag(s)) x: K x N multiplies instead of a pass over the feature
 * map) and the residual add into the projection's epilogue.
 *
 * <p>A batch runs one image per thread; images left over (batch 1, or the remainder) are split
 * by rows across all threads. The classifier runs once for the whole batch. Buffers are planned
 * per input size and reused across runs.
 */
final class FastModel implements CompiledModel {
    /** Expansions bigger than this (bytes) are fused with the depthwise conv instead of materialized. */
    private static final int FUSE_EXPANSION_BYTES = 256 * 1024;

    private final Graph graph;
    private final Kernels kernels;
    private final WorkerPool pool;
    private final List<Object> steps = new ArrayList<>();
    private final Par[] serial;
    private final Par pooled;
    private Plan plan;
    private volatile boolean closed;
    /** Nanoseconds per node summed over profiled runs (see {@link #profile}); null when not profiling. */
    private AtomicLongArray nodeNanos; // atomic: with a batch, threads add their images' times concurrently

    FastModel(Graph graph, Weights weights, CompileOptions options, Kernels kernels) {
        this.graph = graph;
        this.kernels = kernels;
        double eps = graph.config().bnEps();
        for (Node n : graph.nodes()) {
            steps.add(switch (n) {
                case ConvBnAct c when c.name().equals("features.0") -> Steps.Stem.of(c, weights, eps, kernels);
                case ConvBnAct c -> Steps.Pointwise.of(c, weights, eps, kernels);
                case Bottleneck b -> Steps.Block.of(b, weights, eps, kernels);
                case GlobalAvgPool p -> p;
                case Linear l -> Steps.Dense.of(l, weights, kernels);
            });
        }
        pool = new WorkerPool(options.resolvedThreads());
        serial = new Par[pool.size()];
        for (int w = 0; w < serial.length; w++) serial[w] = Par.serial(w);
        pooled = Par.pooled(pool);
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

    private synchronized Result forward(Tensor input, boolean traced) {
        if (closed) throw new IllegalStateException("this compiled model was closed");
        graph.checkInput(input.shape());
        int n = input.dim(0), h = input.dim(2), w = input.dim(3);
        if (plan == null || plan.height != h || plan.width != w) plan = new Plan(h, w);
        Plan p = plan;
        p.reserveBatch(n);
        Tensor logits = Tensor.zeros(n, graph.numClasses());
        Map<String, Tensor> trace = traced ? traceTensors(p, n, logits) : null;
        int across = n / pool.size() * pool.size();
        if (across > 0) {
            pool.run(across, (img, worker) -> image(input, img, p, worker, serial[worker], trace));
        }
        for (int img = across; img < n; img++) image(input, img, p, 0, pooled, trace);
        classifier(p, n, logits, trace);
        return new Result(logits, trace);
    }

    /** One image up to the global average pool, with the buffers of worker {@code owner}; the pooled vector goes to the batch buffer. */
    private void image(Tensor input, int img, Plan p, int owner, Par par, Map<String, Tensor> trace) {
        Workspace ws = p.workspaces[owner];
        float[] cur = ws.x, other = ws.y;
        AtomicLongArray timing = nodeNanos;
        for (int i = 0; i < p.poolIndex + 1; i++) {
            long started = timing != null ? System.nanoTime() : 0;
            Shape is = p.shapes.get(i), os = p.shapes.get(i + 1);
            float[] out;
            int outOff = 0;
            switch (steps.get(i)) {
                case Steps.Stem s -> {
                    stem(s, input.data(), img * 3 * p.height * p.width, is, cur, p, par);
                    out = cur;
                }
                case Steps.Block b -> {
                    block(b, cur, other, is, os, ws, p, par);
                    out = other;
                    other = cur;
                    cur = out;
                }
                case Steps.Pointwise pw -> {
                    pointwise(pw, cur, null, other, is.height() * is.width(), par, pw.weight().data, p);
                    out = other;
                    other = cur;
                    cur = out;
                }
                case GlobalAvgPool gp -> {
                    int hw = is.height() * is.width(), c = is.channels();
                    out = p.pooled;
                    outOff = img * c;
                    kernels.channelSums(cur, 0, hw, c, ws.pooled);
                    for (int ch = 0; ch < c; ch++) out[outOff + ch] = ws.pooled[ch] / hw;
                }
                default -> throw new AssertionError(steps.get(i));
            }
            if (trace != null) toNchw(out, outOff, os, trace.get(graph.nodes().get(i).name()).data(), img);
            if (timing != null) timing.addAndGet(i, System.nanoTime() - started);
        }
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
            PackedWeights wt = ((Steps.Dense) steps.get(i)).weight();
            Activation act = ((Steps.Dense) steps.get(i)).node().activation();
            float[] src = x, dst = p.dense[i - p.poolIndex - 1];
            int k = in, blocks = (wt.paddedN + 63) / 64;
            pool.run(blocks, (t, w) -> kernels.gemm(src, 0, k, k, wt.data, wt.paddedN, wt.bias, act, null, 0, dst, 0, 0, n,
                    t * 64, Math.min(wt.paddedN, (t + 1) * 64), p.workspaces[w].tile));
            Tensor out = i == steps.size() - 1 ? logits : trace != null ? trace.get(graph.nodes().get(i).name()) : null;
            if (out != null) {
                for (int img = 0; img < n; img++) System.arraycopy(dst, img * wt.paddedN, out.data(), img * wt.n, wt.n);
            }
            x = dst;
            in = wt.n;
            if (nodeNanos != null) nodeNanos.addAndGet(i, System.nanoTime() - started);
        }
    }

    private void stem(Steps.Stem s, float[] in, int inOff, Shape is, float[] dst, Plan p, Par par) {
        DepthwiseGeometry g = DepthwiseGeometry.of(s.conv(), is.height(), is.width());
        PackedWeights wt = s.weight();
        int n = wt.paddedN, ow = g.outWidth(), lda = Steps.Stem.pixelStride(g);
        par.rows(g.outHeight(), 1, (lo, hi, w) -> {
            float[] row = p.workspaces[w].patchRow, tile = p.workspaces[w].tile;
            for (int oy = lo; oy < hi; oy++) {
                Steps.Stem.patchRow(g, in, inOff, oy, row);
                kernels.gemm(row, 0, lda, wt.k, wt.data, n, wt.bias, s.conv().activation(), null, 0, dst, oy * ow * n, 0, ow, 0, n,
                        tile);
            }
        });
    }

    private void block(Steps.Block b, float[] src, float[] dst, Shape is, Shape os, Workspace ws, Plan p, Par par) {
        Steps.Depthwise dw = b.depthwise();
        DepthwiseGeometry g = DepthwiseGeometry.of(dw.conv(), is.height(), is.width());
        int rowFloats = g.width() * g.channels(), outRow = g.outWidth() * g.channels();
        if (ringPath(b, is)) {
            par.rows(g.outHeight(), 1, (lo, hi, w) -> ringRows(b, g, src, ws.depthwise, lo, hi, p.workspaces[w]));
        } else {
            float[] in = src;
            if (b.expand() != null) {
                pointwise(b.expand(), src, null, ws.expanded, is.height() * is.width(), par, b.expand().weight().data, p);
                in = ws.expanded;
            }
            float[] unpadded = in;
            int paddedRow = (g.width() + 2 * g.pad()) * g.channels();
            par.rows(g.height() + 2 * g.pad(), 1, (lo, hi, w) -> padRows(g, unpadded, ws.padded, lo, hi));
            par.rows(g.outHeight(), 1, (lo, hi, w) -> {
                int[] rows = p.workspaces[w].rows;
                for (int oy = lo; oy < hi; oy++) {
                    for (int ky = 0; ky < g.kernel(); ky++) rows[ky] = (oy * g.stride() + ky * g.dilation()) * paddedRow;
                    kernels.depthwisePaddedRow(g, ws.padded, rows, dw.weight(), dw.bias(), dw.conv().activation(), ws.depthwise,
                            oy * outRow);
                }
            });
        }
        int outPixels = os.height() * os.width();
        float[] projection = b.project().weight().data;
        if (b.se() != null) {
            squeezeExcite(b, outPixels, ws, par);
            projection = ws.scaledProjection;
        }
        pointwise(b.project(), ws.depthwise, b.node().residual() ? src : null, dst, outPixels, par, projection, p);
    }

    /**
     * Wide feature maps go through the ring of padded rows; an expansion is then computed row by
     * row into it instead of being materialized. Narrow maps (14 and 7 wide at 224) keep
     * whole-image GEMMs, whose tiles a single row would not fill, and are copied into a
     * zero-bordered buffer for the same depthwise kernels.
     */
    private static boolean ringPath(Steps.Block b, Shape in) {
        return in.width() >= 28
                && (b.expand() == null || (long) in.height() * in.width() * b.node().expSize() * 4 > FUSE_EXPANSION_BYTES);
    }

    /**
     * Rows [lo, hi) of the zero-bordered copy of a feature map: the top and bottom rows and the
     * left and right borders are zeroed each time, since blocks of other shapes share the buffer.
     */
    private static void padRows(DepthwiseGeometry g, float[] src, float[] dst, int lo, int hi) {
        int c = g.channels(), pad = g.pad(), rowFloats = g.width() * c, left = pad * c, paddedRow = rowFloats + 2 * left;
        for (int py = lo; py < hi; py++) {
            int iy = py - pad, o = py * paddedRow;
            if (iy < 0 || iy >= g.height()) {
                Arrays.fill(dst, o, o + paddedRow, 0f);
            } else {
                Arrays.fill(dst, o, o + left, 0f);
                System.arraycopy(src, iy * rowFloats, dst, o + left, rowFloats);
                Arrays.fill(dst, o + left + rowFloats, o + paddedRow, 0f);
            }
        }
    }

    /**
     * Depthwise output rows [lo, hi) through a ring of (k-1)*dilation+1 zero-padded input rows.
     * Each input row enters the ring once per call, when first needed: computed by the
     * expansion GEMM, or copied from the block input when the block has no expansion.
     */
    private void ringRows(Steps.Block b, DepthwiseGeometry g, float[] src, float[] out, int lo, int hi, Workspace ws) {
        Steps.Pointwise ex = b.expand();
        Steps.Depthwise dw = b.depthwise();
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

    /** Computes the SE channel scale and folds it into a copy of the projection weights. */
    private void squeezeExcite(Steps.Block b, int pixels, Workspace ws, Par par) {
        Steps.Se se = b.se();
        int c = se.se().channels(), sq = se.se().squeezeChannels();
        kernels.channelSums(ws.depthwise, 0, pixels, c, ws.pooled);
        for (int i = 0; i < c; i++) ws.pooled[i] /= pixels;
        kernels.pointwise(ws.pooled, 0, c, se.fc1().data, sq, se.fc1().bias, Activation.RELU, null, 0, ws.squeezed, 0, 0, 1, ws.tile);
        kernels.pointwise(ws.squeezed, 0, sq, se.fc2().data, c, se.fc2().bias, Activation.HARDSIGMOID, null, 0, ws.scale, 0, 0, 1,
                ws.tile);
        PackedWeights projection = b.project().weight();
        int panel = projection.panel, panels = (projection.paddedN + panel - 1) / panel;
        par.rows(panels, 1, (lo, hi, w) -> projection.scaledInto(ws.scale, ws.scaledProjection, lo * panel,
                Math.min(projection.paddedN, hi * panel)));
    }

    /**
     * A 1x1 conv over {@code pixels} rows. Split across threads by rows where the feature map is
     * the bigger operand, by output columns where the weights are (late 7x7 layers: splitting rows
     * there would make every thread stream all the weights).
     */
    private void pointwise(Steps.Pointwise pw, float[] a, float[] res, float[] c, int pixels, Par par, float[] weights, Plan p) {
        int k = pw.conv().inChannels(), n = pw.weight().paddedN, panel = pw.weight().panel;
        float[] bias = pw.weight().bias;
        if (par.threads() > 1 && n > pixels) {
            int panels = (n + panel - 1) / panel;
            par.rows(panels, 1, (lo, hi, w) -> kernels.gemm(a, 0, k, k, weights, n, bias, pw.act(), res, 0, c, 0, 0, pixels,
                    lo * panel, Math.min(n, hi * panel), p.workspaces[w].tile));
        } else {
            par.rows(pixels, 6, (lo, hi, w) -> kernels.pointwise(a, 0, k, weights, n, bias, pw.act(), res, 0, c, 0, lo, hi,
                    p.workspaces[w].tile));
        }
    }

    /**
     * Wall time per node over {@code runs} runs of {@code input}, in milliseconds per run. When
     * the batch runs one image per thread, every thread adds its own time (thread time); with
     * batch 1 the numbers are the wall time of the parallel steps.
     */
    synchronized Map<String, Double> profile(Tensor input, int runs) {
        nodeNanos = new AtomicLongArray(steps.size());
        try {
            for (int r = 0; r < runs; r++) forward(input, false);
            Map<String, Double> ms = new LinkedHashMap<>();
            for (int i = 0; i < steps.size(); i++) ms.put(graph.nodes().get(i).name(), nodeNanos.get(i) / 1e6 / runs);
            return ms;
        } finally {
            nodeNanos = null;
        }
    }

    private Map<String, Tensor> traceTensors(Plan p, int n, Tensor logits) {
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

    /** Shapes and per-thread buffers for one input size. */
    private final class Plan {
        final int height, width;
        final List<Shape> shapes;
        final Workspace[] workspaces;
        /** Index of the global average pool: the per-image part ends there, the classifier runs per batch. */
        final int poolIndex;
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
            Sizes z = new Sizes();
            for (int i = 0; i < steps.size(); i++) {
                Shape in = shapes.get(i), out = shapes.get(i + 1);
                z.channels = Math.max(z.channels, Math.max(in.channels(), out.channels()));
                switch (steps.get(i)) {
                    case Steps.Stem s -> {
                        z.act = Math.max(z.act, (int) out.size());
                        z.patchRow = Steps.Stem.rowFloats(DepthwiseGeometry.of(s.conv(), in.height(), in.width()));
                    }
                    case Steps.Pointwise pw -> z.act = Math.max(z.act, (int) out.size());
                    case Steps.Block b -> {
                        int exp = b.node().expSize();
                        ConvBnAct dw = b.depthwise().conv();
                        z.act = Math.max(z.act, (int) out.size());
                        z.kernel = Math.max(z.kernel, dw.kernel());
                        if (ringPath(b, in)) {
                            int ring = (dw.kernel() - 1) * dw.dilation() + 1;
                            z.ringRows = Math.max(z.ringRows, ring);
                            z.ring = Math.max(z.ring, ring * (in.width() + 2 * dw.padding()) * exp);
                        } else {
                            if (b.expand() != null) z.expanded = Math.max(z.expanded, in.height() * in.width() * exp);
                            z.padded = Math.max(z.padded, (in.height() + 2 * dw.padding()) * (in.width() + 2 * dw.padding()) * exp);
                        }
                        z.depthwise = Math.max(z.depthwise, out.height() * out.width() * exp);
                        if (b.se() != null) z.projection = Math.max(z.projection, b.project().weight().floats());
                    }
                    default -> { }
                }
            }
            workspaces = new Workspace[FastModel.this.pool.size()];
            z.tile = kernels.scratchFloats();
            for (int i = 0; i < workspaces.length; i++) workspaces[i] = new Workspace(z);
        }

        /** Grows the batch buffers to hold {@code n} images (they only grow, so a steady batch size allocates nothing). */
        void reserveBatch(int n) {
            if (n <= batchCapacity) return;
            pooled = new float[n * shapes.get(poolIndex + 1).channels()];
            dense = new float[steps.size() - poolIndex - 1][];
            for (int i = 0; i < dense.length; i++) {
                dense[i] = new float[n * ((Steps.Dense) steps.get(poolIndex + 1 + i)).weight().paddedN];
            }
            batchCapacity = n;
        }
    }

    /** The largest size of each buffer over the network, for one input size. */
    private static final class Sizes {
        int act, expanded, padded, depthwise, channels, projection, patchRow, ring, ringRows, kernel, tile;
    }

    /**
     * One thread's buffers: ping-pong block outputs, the expansion and its zero-bordered copy, the
     * depthwise output and the SE vectors for the image it owns; the stem's interleaved input row
     * and the expansion ring for the rows it runs.
     */
    private static final class Workspace {
        final float[] x, y, expanded, padded, depthwise, pooled, squeezed, scale, scaledProjection, patchRow, ring, tile;
        final int[] rows, ringHeld;

        Workspace(Sizes z) {
            x = new float[z.act];
            y = new float[z.act];
            expanded = new float[z.expanded];
            padded = new float[z.padded];
            depthwise = new float[z.depthwise];
            pooled = new float[z.channels];
            squeezed = new float[z.channels];
            scale = new float[z.channels];
            scaledProjection = new float[z.projection];
            patchRow = new float[z.patchRow];
            ring = new float[z.ring];
            tile = new float[z.tile];
            rows = new int[z.kernel];
            ringHeld = new int[z.ringRows];
        }
    }

    /** How a step's rows run: all on one thread, or split across the pool. */
    interface Par {
        interface Range {
            /** Rows [from, to) on worker {@code worker} (whose scratch buffers it may use). */
            void run(int from, int to, int worker);
        }

        void rows(int n, int grain, Range r);

        /** How many threads share the rows. */
        int threads();

        static Par serial(int worker) {
            return new Par() {
                @Override
                public void rows(int n, int grain, Range r) {
                    r.run(0, n, worker);
                }

                @Override
                public int threads() {
                    return 1;
                }
            };
        }

        static Par pooled(WorkerPool pool) {
            int threads = pool.size();
            return new Par() {
                @Override
                public void rows(int n, int grain, Range r) {
                    // one contiguous share per thread, the same share in every layer (see runPinned)
                    int units = (n + grain - 1) / grain;
                    pool.runPinned((t, worker) -> {
                        int from = Math.min(n, units * t / threads * grain), to = Math.min(n, units * (t + 1) / threads * grain);
                        if (from < to) r.run(from, to, worker);
                    });
                }

                @Override
                public int threads() {
                    return threads;
                }
            };
        }
    }
}
