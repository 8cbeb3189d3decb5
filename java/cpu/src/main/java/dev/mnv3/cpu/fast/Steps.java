package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;
import dev.mnv3.core.backend.FoldedConv;
import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.SqueezeExcite;
import dev.mnv3.core.weights.Weights;

/** The graph's nodes with their weights in the layouts the fast kernels read, prepared once at compile time. */
final class Steps {
    private Steps() {
    }

    /**
     * The stem: a dense conv on the NCHW input, run as im2col rows times a GEMM. The input is
     * first transposed into a zero-bordered NHWC image, where each output pixel's patch is k runs
     * of k*Cin adjacent floats. Weights packed with K = k*k*Cin in (ky, kx, ci) order.
     */
    record Stem(ConvBnAct conv, PackedWeights weight) {
        static Stem of(ConvBnAct c, Weights w, double eps) {
            FoldedConv f = FoldedConv.fold(c, w, eps);
            int k = c.kernel(), cin = c.inChannels(), cout = c.outChannels(), kk = k * k * cin;
            float[] outIn = new float[cout * kk];
            for (int co = 0; co < cout; co++)
                for (int ci = 0; ci < cin; ci++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++)
                            outIn[co * kk + (ky * k + kx) * cin + ci] = f.weight()[((co * cin + ci) * k + ky) * k + kx];
            return new Stem(c, PackedWeights.pack(outIn, f.bias(), cout, kk));
        }

        int patch() {
            return conv.kernel() * conv.kernel() * conv.inChannels();
        }

        /** Row oy of the im2col matrix, from the padded NHWC image: for each output x, its k*k*Cin patch. */
        void im2colRow(DepthwiseGeometry g, float[] padded, int oy, float[] dst) {
            int k = g.kernel(), cin = conv.inChannels(), s = g.stride(), d = g.dilation();
            int pw = g.width() + 2 * g.pad(), run = k * cin, o = 0;
            for (int ox = 0; ox < g.outWidth(); ox++) {
                for (int ky = 0; ky < k; ky++, o += run) {
                    int src = ((oy * s + ky * d) * pw + ox * s) * cin;
                    if (d == 1) {
                        System.arraycopy(padded, src, dst, o, run);
                    } else {
                        for (int kx = 0; kx < k; kx++) System.arraycopy(padded, src + kx * d * cin, dst, o + kx * cin, cin);
                    }
                }
            }
        }

        /**
         * Rows [y0, y1) of the NCHW input, transposed into a zero-bordered NHWC image
         * ((H+2p) x (W+2p) x Cin), which the stem kernel reads without bounds checks.
         */
        void toPaddedNhwc(DepthwiseGeometry g, float[] in, int inOff, float[] dst, int y0, int y1) {
            int cin = conv.inChannels(), w = g.width(), p = g.pad(), plane = g.height() * w, pw = w + 2 * p;
            for (int y = y0; y < y1; y++) {
                int row = ((y + p) * pw + p) * cin;
                for (int ci = 0; ci < cin; ci++) {
                    int src = inOff + ci * plane + y * w;
                    for (int x = 0; x < w; x++) dst[row + x * cin + ci] = in[src + x];
                }
            }
        }

    }

    /** A 1x1 conv as a GEMM: weights packed into panels. */
    record Pointwise(ConvBnAct conv, PackedWeights weight) {
        static Pointwise of(ConvBnAct c, Weights w, double eps) {
            FoldedConv f = FoldedConv.fold(c, w, eps);
            return new Pointwise(c, PackedWeights.pack(f.weight(), f.bias(), c.outChannels(), c.inChannels()));
        }

        Activation act() {
            return conv.activation();
        }
    }

    /** A depthwise conv: weights [k*k][C], so one tap's weights for 8 channels are one vector. */
    record Depthwise(ConvBnAct conv, float[] weight, float[] bias) {
        static Depthwise of(ConvBnAct c, Weights w, double eps) {
            FoldedConv f = FoldedConv.fold(c, w, eps);
            int k = c.kernel(), ch = c.outChannels();
            float[] t = new float[k * k * ch];
            for (int cc = 0; cc < ch; cc++)
                for (int i = 0; i < k * k; i++) t[i * ch + cc] = f.weight()[cc * k * k + i];
            return new Depthwise(c, t, f.bias());
        }
    }

    /** Squeeze-excitation FCs, packed like 1x1 convs: each runs as a one-row GEMM. */
    record Se(SqueezeExcite se, PackedWeights fc1, PackedWeights fc2) {
        static Se of(SqueezeExcite se, Weights w) {
            String n = se.name();
            int c = se.channels(), sq = se.squeezeChannels();
            return new Se(se, PackedWeights.pack(w.data(n + ".fc1.weight"), w.data(n + ".fc1.bias"), sq, c),
                    PackedWeights.pack(w.data(n + ".fc2.weight"), w.data(n + ".fc2.bias"), c, sq));
        }
    }

    record Block(Bottleneck node, Pointwise expand, Depthwise depthwise, Se se, Pointwise project) {
        static Block of(Bottleneck b, Weights w, double eps) {
            return new Block(b, b.expand() != null ? Pointwise.of(b.expand(), w, eps) : null, Depthwise.of(b.depthwise(), w, eps),
                    b.se() != null ? Se.of(b.se(), w) : null, Pointwise.of(b.project(), w, eps));
        }
    }

    /** A linear layer of the classifier, run once per batch as an [N, in] x [in, out] GEMM. */
    record Dense(Linear node, PackedWeights weight) {
        static Dense of(Linear l, Weights w) {
            return new Dense(l, PackedWeights.pack(w.data(l.name() + ".weight"), w.data(l.name() + ".bias"),
                    l.outFeatures(), l.inFeatures()));
        }
    }
}
