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
     * The stem: a dense conv on the NCHW input, run as im2col rows times a GEMM. Weights packed
     * with K = k*k*Cin in (ky, kx, ci) order, matching {@link #im2colRow}.
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

        /** Row oy of the im2col matrix: for each output x, the k*k*Cin input values it sees (0 for padding). */
        void im2colRow(DepthwiseGeometry g, float[] in, int inOff, int oy, float[] dst) {
            int k = g.kernel(), cin = conv.inChannels(), plane = g.height() * g.width(), patch = patch();
            int s = g.stride(), d = g.dilation(), w = g.width();
            for (int ox = 0; ox < g.outWidth(); ox++) {
                int o = ox * patch, ix0 = ox * s - g.pad();
                boolean inside = ix0 >= 0 && ix0 + (k - 1) * d < w;
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * s - g.pad() + ky * d;
                    if (iy < 0 || iy >= g.height()) {
                        java.util.Arrays.fill(dst, o, o + k * cin, 0f);
                        o += k * cin;
                        continue;
                    }
                    int row = inOff + iy * w;
                    for (int kx = 0; kx < k; kx++) {
                        int ix = ix0 + kx * d;
                        if (inside || (ix >= 0 && ix < w)) {
                            for (int ci = 0; ci < cin; ci++) dst[o++] = in[row + ci * plane + ix];
                        } else {
                            for (int ci = 0; ci < cin; ci++) dst[o++] = 0f;
                        }
                    }
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
