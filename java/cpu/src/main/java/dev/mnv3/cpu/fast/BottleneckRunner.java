package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.cpu.fast.BufferPlan.Buffers;
import dev.mnv3.cpu.fast.BufferPlan.Scratch;
import dev.mnv3.cpu.fast.PreparedLayers.Block;
import dev.mnv3.cpu.fast.PreparedLayers.Depthwise;
import dev.mnv3.cpu.fast.PreparedLayers.Pointwise;
import dev.mnv3.cpu.fast.PreparedLayers.Se;
import java.util.Arrays;

/**
 * Runs one bottleneck on NHWC maps: expansion, depthwise conv, squeeze-excitation, projection
 * (+ the block input). Where a block's expansion would not fit in cache, the expansion and the
 * depthwise conv are fused: expanded rows live in a ring of k rows and each is computed once,
 * just before the depthwise row that first needs it. The SE channel scale is folded into a copy
 * of the projection weights (project(x * s) = (W diag(s)) x) where those are fewer than the
 * depthwise output's values, and otherwise multiplies that output; the residual add is part of
 * the projection's epilogue. Also runs the 1x1 convs outside blocks ({@link #pointwise}).
 */
final class BottleneckRunner {
    /** Expansions bigger than this (bytes) are fused with the depthwise conv instead of materialized. */
    private static final int FUSE_EXPANSION_BYTES = 256 * 1024;

    private final CpuKernels kernels;

    BottleneckRunner(CpuKernels kernels) {
        this.kernels = kernels;
    }

    /** A bottleneck on {@code images} stacked images: src [images][H][W][Cin] to dst [images][Ho][Wo][Cout]. */
    void run(Block b, float[] src, float[] dst, Shape is, Shape os, int images, Buffers buf, BufferPlan p, ParallelFor par) {
        DepthwiseGeometry g = DepthwiseGeometry.of(b.depthwise().conv(), is.height(), is.width());
        if (ringPath(b, is)) {
            if (images != 1) throw new AssertionError("the ring runs one image at a time");
            par.rows(g.outHeight(), 1, (lo, hi, w) -> ringRows(b, g, src, buf.depthwise, lo, hi, p.scratch[w]));
        } else {
            expandPadDepthwise(b, g, src, images, buf, p, par);
        }
        int outPixels = os.height() * os.width();
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
    static boolean ringPath(Block b, Shape in) {
        return in.width() >= 28
                && (b.expand() == null || (long) in.height() * in.width() * b.node().expSize() * 4 > FUSE_EXPANSION_BYTES);
    }

    /**
     * Depthwise output rows [lo, hi) through a ring of (k-1)*dilation+1 zero-padded input rows.
     * Each input row enters the ring once per call, when first needed: computed by the
     * expansion GEMM, or copied from the block input when the block has no expansion.
     */
    private void ringRows(Block b, DepthwiseGeometry g, float[] src, float[] out, int lo, int hi, Scratch ws) {
        Pointwise ex = b.expand();
        Depthwise dw = b.depthwise();
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

    /** The narrow maps' path: the expansion as one GEMM over all pixels, a zero-bordered copy, then the depthwise rows. */
    private void expandPadDepthwise(Block b, DepthwiseGeometry g, float[] src, int images, Buffers buf, BufferPlan p,
                                    ParallelFor par) {
        Depthwise dw = b.depthwise();
        float[] in = src;
        if (b.expand() != null) {
            pointwise(b.expand(), src, null, buf.expanded, images * g.height() * g.width(), par, b.expand().weight().data, p);
            in = buf.expanded;
        }
        float[] unpadded = in;
        int paddedHeight = g.height() + 2 * g.pad(), paddedRow = (g.width() + 2 * g.pad()) * g.channels();
        int outRow = g.outWidth() * g.channels();
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
     * Squeeze-excitation of each image's depthwise output: the images' channel means, [images][c]
     * in the scales buffer, go through each FC as one GEMM (its weights read once for all the
     * images) and come out as the scales, in place. One image whose rows the threads share has
     * its channels' sums and the FCs' output columns split across the threads instead (at 7x7
     * the FCs hold more weights than the map has values). One image (in buffers of its own) whose
     * projection has fewer weights than the map has values gets the scale folded into a copy of
     * the projection weights, which is returned; otherwise every image's map is scaled in place
     * and the projection weights are returned as they are (a stack of images shares them).
     */
    private float[] squeezeExcite(Block b, int pixels, int images, Buffers buf, BufferPlan p, ParallelFor par) {
        Se se = b.se();
        PackedWeights fc1 = se.fc1(), fc2 = se.fc2();
        int c = se.se().channels(), sq = se.se().squeezeChannels();
        boolean shared = images == 1 && par.threads() > 1;
        if (shared) {
            par.rows(c, 16, (lo, hi, w) -> {
                float[] sums = p.scratch[w].sums;
                kernels.channelSums(buf.depthwise, lo, pixels, c, hi - lo, sums);
                for (int i = lo; i < hi; i++) buf.scales[i] = sums[i - lo] / pixels;
            });
        } else {
            par.rows(images, 1, (lo, hi, w) -> {
                float[] sums = p.scratch[w].sums;
                for (int img = lo; img < hi; img++) {
                    kernels.channelSums(buf.depthwise, img * pixels * c, pixels, c, sums);
                    for (int i = 0; i < c; i++) buf.scales[img * c + i] = sums[i] / pixels;
                }
            });
        }
        // the packed widths: a squeeze of exp / 4 need not be a multiple of 8 (the padding computes relu(0) = 0), so the
        // squeezed rows are fc1.paddedN apart; fc2's padded width is c (channel widths are multiples of 8)
        if (shared) {
            columns(buf.scales, c, c, fc1.data, fc1, Activation.RELU, null, buf.squeezed, 1, par, p);
            columns(buf.squeezed, fc1.paddedN, sq, fc2.data, fc2, Activation.HARDSIGMOID, null, buf.scales, 1, par, p);
        } else {
            par.rows(images, 1, (lo, hi, w) -> kernels.pointwise(buf.scales, 0, c, fc1.data, fc1.paddedN, fc1.bias,
                    Activation.RELU, null, 0, buf.squeezed, 0, lo, hi, p.scratch[w].tile));
            par.rows(images, 1, (lo, hi, w) -> kernels.gemm(buf.squeezed, 0, fc1.paddedN, sq, fc2.data, fc2.paddedN, fc2.bias,
                    Activation.HARDSIGMOID, null, 0, buf.scales, 0, lo, hi, 0, fc2.paddedN, p.scratch[w].tile));
        }
        PackedWeights projection = b.project().weight();
        if (buf.foldsSe && projection.n < pixels) {
            int panel = projection.panel;
            par.rows(projection.panels(), 1, (lo, hi, w) -> projection.scaledInto(buf.scales, buf.scaledProjection, lo * panel,
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
     * A 1x1 conv over {@code pixels} rows with the given (possibly SE-scaled) weights. Split
     * across threads by output columns where the weights are the bigger operand (late 7x7
     * layers: splitting rows there would make every thread stream all the weights) and their
     * panels divide evenly among the threads, by rows otherwise (5 panels on 2 threads would
     * leave one thread 3/5 of the work).
     */
    void pointwise(Pointwise pw, float[] a, float[] res, float[] c, int pixels, ParallelFor par, float[] weights, BufferPlan p) {
        int k = pw.conv().inChannels(), n = pw.weight().paddedN;
        if (par.threads() > 1 && n > pixels && pw.weight().panels() % par.threads() == 0) {
            columns(a, k, k, weights, pw.weight(), pw.act(), res, c, pixels, par, p);
        } else {
            par.rows(pixels, 6, (lo, hi, w) -> kernels.pointwise(a, 0, k, weights, n, pw.weight().bias, pw.act(), res, 0, c, 0,
                    lo, hi, p.scratch[w].tile));
        }
    }

    /**
     * {@code rows} rows of C = act(A x weights + bias) (+ res), A's rows {@code lda} apart,
     * {@code wt} giving the weights' packing and bias; the threads split the output columns by panels.
     */
    private void columns(float[] a, int lda, int k, float[] weights, PackedWeights wt, Activation act, float[] res, float[] c,
                         int rows, ParallelFor par, BufferPlan p) {
        int panel = wt.panel, n = wt.paddedN;
        par.rows(wt.panels(), 1, (lo, hi, w) -> kernels.gemm(a, 0, lda, k, weights, n, wt.bias, act, res, 0, c, 0, 0,
                rows, lo * panel, Math.min(n, hi * panel), p.scratch[w].tile));
    }
}
