package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.cpu.fast.PreparedLayers.Dense;
import dev.mnv3.cpu.fast.PreparedLayers.Stem;

/**
 * The two ends of the network around the bottlenecks: the stem, a dense conv on the NCHW input,
 * and the head, the global average pool per image and the classifier's linear layers per batch.
 */
final class StemAndHead {
    private final CpuKernels kernels;
    private final WorkerPool pool;

    StemAndHead(CpuKernels kernels, WorkerPool pool) {
        this.kernels = kernels;
        this.pool = pool;
    }

    /** The stem on one NCHW image at {@code inOff}, into NHWC {@code dst}: one output row at a time, a GEMM over its patch row. */
    void stem(Stem s, float[] in, int inOff, Shape is, float[] dst, BufferPlan p, ParallelFor par) {
        DepthwiseGeometry g = DepthwiseGeometry.of(s.conv(), is.height(), is.width());
        PackedWeights wt = s.weight();
        int n = wt.paddedN, ow = g.outWidth(), lda = Stem.pixelStride(g);
        par.rows(g.outHeight(), 1, (lo, hi, w) -> {
            float[] row = p.scratch[w].patchRow, tile = p.scratch[w].tile;
            for (int oy = lo; oy < hi; oy++) {
                Stem.patchRow(g, in, inOff, oy, row);
                kernels.gemm(row, 0, lda, wt.k, wt.data, n, wt.bias, s.conv().activation(), null, 0, dst, oy * ow * n, 0, ow, 0, n,
                        tile);
            }
        });
    }

    /** Each image's channel means into the batch's pooled features. */
    void averagePool(float[] x, Shape is, int first, int images, BufferPlan p, ParallelFor par) {
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
     * A classifier layer for the whole batch: one [n, in] x [in, out] GEMM from {@code x} into
     * {@code dst} (rows padded to the packed width), so that its weights (megabytes) stream from
     * memory once per batch, not once per image. Threads split the output columns.
     */
    void dense(Dense d, float[] x, int in, int n, float[] dst, BufferPlan p) {
        PackedWeights wt = d.weight();
        Activation act = d.node().activation();
        int blocks = (wt.paddedN + 63) / 64;
        pool.run(blocks, (t, w) -> kernels.gemm(x, 0, in, in, wt.data, wt.paddedN, wt.bias, act, null, 0, dst, 0, 0, n, t * 64,
                Math.min(wt.paddedN, (t + 1) * 64), p.scratch[w].tile));
    }
}
