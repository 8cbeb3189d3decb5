package dev.mnv3.cpu.fast;

import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.MemoryLimitException;
import dev.mnv3.cpu.fast.PreparedLayers.AveragePool;
import dev.mnv3.cpu.fast.PreparedLayers.Block;
import dev.mnv3.cpu.fast.PreparedLayers.Dense;
import dev.mnv3.cpu.fast.PreparedLayers.Layer;
import dev.mnv3.cpu.fast.PreparedLayers.Pointwise;
import dev.mnv3.cpu.fast.PreparedLayers.Stem;
import java.util.List;

/**
 * Shapes and buffers for one input size: each thread's activations and scratch space for the
 * image it runs and for its share of a batch's images stacked in the late layers, and the
 * batch's pooled features and classifier outputs. Every buffer is sized for the largest layer that uses
 * it and reused across layers and runs; each size is counted against the heap before it is
 * allocated, so that an input too large is refused with what it needs.
 */
final class BufferPlan {
    final int height, width;
    final List<Shape> shapes;
    /** Index of the global average pool: the per-image part ends there, the classifier runs per batch. */
    final int poolIndex;
    /** The first layer from which a batch's images run stacked: every later block's map is narrow (no ring). */
    final int lateFrom;
    /** Each thread's buffers for the image it runs, and its scratch space. */
    final Buffers[] own;
    final Scratch[] scratch;
    /**
     * A batch's late inputs, [N][floats of one image's map at lateFrom], and each thread's buffers for a group of
     * them stacked in the late layers; none where the images do not stack (a stack of 1, no narrow layers).
     */
    float[] lateInputs = new float[0];
    final int lateSize;
    Buffers[] stacked = new Buffers[0];
    /** The batch's pooled features [N][C] and each classifier layer's output [N][padded out]. */
    float[] pooled = new float[0];
    float[][] dense = new float[0][];
    private int batchCapacity;

    private final Graph graph;
    private final List<Layer> layers;
    /** Images whose late layers run together; 1: one image per thread throughout. */
    private final int stack;

    BufferPlan(Graph graph, List<Layer> layers, int height, int width, int threads, int tileFloats, int stack) {
        this.graph = graph;
        this.layers = layers;
        this.stack = stack;
        this.height = height;
        this.width = width;
        this.shapes = graph.inferShapes(height, width);
        int pool = 0;
        while (!(layers.get(pool) instanceof AveragePool)) pool++;
        this.poolIndex = pool;
        int late = pool;
        while (late > 1 && !(layers.get(late - 1) instanceof Block b && BottleneckRunner.ringPath(b, shapes.get(late - 1)))
                && !(layers.get(late - 1) instanceof Stem)) {
            late--;
        }
        this.lateFrom = late;
        this.lateSize = (int) shapes.get(late).size(); // one image's map: an array at batch 1
        String what = "the " + FastBackend.NAME + " backend's buffers for " + graph.config().describe() + " at " + height
                + "x" + width + " on " + threads + " thread" + (threads > 1 ? "s" : "");
        Sizes one = sizes(0, poolIndex + 1, 1, what);
        long perThread = Buffers.floats(one, true) + Scratch.floats(one, tileFloats);
        // each part fits one array and there are at most 256 threads: exact in a long
        MemoryBudget.reserve(MemoryBudget.floatBytes(perThread * threads, what), what);
        own = new Buffers[threads];
        scratch = new Scratch[threads];
        for (int i = 0; i < threads; i++) {
            own[i] = new Buffers(one, true);
            scratch[i] = new Scratch(one, tileFloats);
        }
    }

    /**
     * The largest size of each buffer over layers [from, to) for {@code images} stacked images;
     * {@code what} names them should the sizes overflow a long.
     */
    private Sizes sizes(int from, int to, int images, String what) {
        Sizes z = new Sizes(images, what);
        for (int i = from; i < to; i++) {
            Shape in = shapes.get(i), out = shapes.get(i + 1);
            z.channels = Math.max(z.channels, Math.max(in.channels(), out.channels()));
            switch (layers.get(i)) {
                case Stem s -> {
                    z.act = Math.max(z.act, out.size());
                    z.patchRow = Stem.rowFloats(DepthwiseGeometry.of(s.conv(), in.height(), in.width()));
                }
                case Pointwise pw -> z.act = Math.max(z.act, z.stacked(Math.max(in.size(), out.size())));
                case AveragePool gp -> z.act = Math.max(z.act, z.stacked(in.size()));
                case Block b -> {
                    // one image's sizes are below 2^16 * 2^16 * 2^19 (Graph and BottleneckSpec limits): exact in a long
                    long exp = b.node().expSize();
                    ConvBnAct dw = b.depthwise().conv();
                    long paddedW = in.width() + 2L * dw.padding(), paddedH = in.height() + 2L * dw.padding();
                    z.act = Math.max(z.act, z.stacked(Math.max(in.size(), out.size())));
                    z.kernel = Math.max(z.kernel, dw.kernel());
                    if (BottleneckRunner.ringPath(b, in)) {
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
                case Dense d -> { }
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
        for (int i = poolIndex + 1; i < layers.size(); i++) floats += (long) n * ((Dense) layers.get(i)).weight().paddedN;
        MemoryBudget.reserve(MemoryBudget.floatBytes(floats, what), what);
        pooled = new float[MemoryBudget.arrayLength((long) n * shapes.get(poolIndex + 1).channels(), what)];
        dense = new float[layers.size() - poolIndex - 1][];
        for (int i = 0; i < dense.length; i++) {
            dense[i] = new float[MemoryBudget.arrayLength((long) n * ((Dense) layers.get(poolIndex + 1 + i)).weight().paddedN, what)];
        }
        int threads = own.length, most = Math.min(stack, (n + threads - 1) / threads);
        if (stack > 1 && lateFrom <= poolIndex && n > 1) {
            String late = "the " + FastBackend.NAME + " backend's buffers for the late layers of a batch of " + n + " in stacks of "
                    + most + " images of " + graph.config().describe() + " at " + height + "x" + width;
            Sizes z = sizes(lateFrom, poolIndex + 1, most, late);
            lateInputs = new float[0]; // the smaller batch's buffers are garbage before the new ones are counted
            stacked = new Buffers[0];
            long inputs = (long) n * lateSize;
            MemoryBudget.reserve(MemoryBudget.floatBytes(Buffers.floats(z, false) * threads + inputs, late), late);
            lateInputs = new float[z.length(inputs)];
            Buffers[] each = new Buffers[threads];
            for (int i = 0; i < threads; i++) each[i] = new Buffers(z, false);
            stacked = each;
        }
        batchCapacity = n;
    }

    /**
     * How many groups a batch of {@code n} images runs its late layers in: groups of at most a
     * stack, and at least one per thread (while there are images for them). Group g holds images
     * [g * n / groups, (g + 1) * n / groups), at most min(stack, ceil(n / threads)) of them, the
     * size of the stacked buffers.
     */
    int groups(int n) {
        return Math.max((n + stack - 1) / stack, Math.min(n, own.length));
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
     * expansion and its zero-bordered copy, the depthwise output, the SE channel means (then
     * scales) and squeezes per image and, for one image, its scaled copy of a projection's weights.
     */
    static final class Buffers {
        final float[] x, y, expanded, padded, depthwise, scales, squeezed, scaledProjection;
        /** One image's buffers, which may fold the SE scale into a copy of the projection weights. */
        final boolean foldsSe;

        private Buffers(Sizes z, boolean foldsSe) {
            this.foldsSe = foldsSe;
            x = new float[z.length(z.act)];
            y = new float[z.length(z.act)];
            expanded = new float[z.length(z.expanded)];
            padded = new float[z.length(z.padded)];
            depthwise = new float[z.length(z.depthwise)];
            scales = new float[z.length(z.scales)];
            squeezed = new float[z.length(z.scales)];
            scaledProjection = new float[foldsSe ? z.length(z.projection) : 0];
        }

        /** The floats of one {@code Buffers(z, foldsSe)}, each array checked to fit (every one is below 2^31). */
        private static long floats(Sizes z, boolean foldsSe) {
            long total = 0;
            for (long n : new long[] {z.act, z.act, z.expanded, z.padded, z.depthwise, z.scales, z.scales, foldsSe ? z.projection : 0}) {
                total += z.length(n);
            }
            return total;
        }
    }

    /** One thread's scratch space: the GEMM tile, depthwise row offsets, the ring and the stem's row, SE channel sums. */
    static final class Scratch {
        final float[] tile, patchRow, ring, sums;
        final int[] rows, ringHeld;

        private Scratch(Sizes z, int tileFloats) {
            tile = new float[tileFloats];
            patchRow = new float[z.length(z.patchRow)];
            ring = new float[z.length(z.ring)];
            sums = new float[z.length(z.channels)];
            rows = new int[z.kernel];
            ringHeld = new int[z.ringRows];
        }

        /** The floats of one {@code Scratch(z, tileFloats)}, each array checked to fit. */
        private static long floats(Sizes z, int tileFloats) {
            long total = tileFloats;
            for (long n : new long[] {z.patchRow, z.ring, z.channels}) total += z.length(n);
            return total;
        }
    }
}
