package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;
import dev.mnv3.core.backend.FoldedConv;
import dev.mnv3.core.backend.SeWeights;
import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.GlobalAvgPool;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.graph.SqueezeExcite;
import dev.mnv3.core.weights.Weights;

/** The graph's nodes with their weights in the layouts the fast kernels read, prepared once at compile time. */
final class PreparedLayers {
    private PreparedLayers() {
    }

    /** One node of the graph, ready to run. */
    sealed interface Layer permits Stem, Pointwise, Block, AveragePool, Dense {
    }

    /** The node's weights folded and packed; the first conv ({@code features.0}) is the stem. */
    static Layer of(Node node, Weights w, double eps, CpuKernels kernels) {
        return switch (node) {
            case ConvBnAct c when c.name().equals("features.0") -> Stem.of(c, w, eps, kernels);
            case ConvBnAct c -> Pointwise.of(c, w, eps, kernels);
            case Bottleneck b -> Block.of(b, w, eps, kernels);
            case GlobalAvgPool p -> new AveragePool(p);
            case Linear l -> Dense.of(l, w, kernels);
        };
    }

    /**
     * The stem: a dense conv on the NCHW input, run one output row at a time as a GEMM whose A
     * rows are the output pixels' patches. The k input rows an output row reads are interleaved
     * into one row of k*Cin floats per (padded) input column, [x][ky][ci]: pixel ox's patch is
     * then the k*k*Cin adjacent floats from column ox*stride, and the patches of neighbouring
     * pixels overlap (A rows stride*k*Cin apart), with no im2col copy and no transposed image.
     * Weights packed with K = k*k*Cin in (kx, ky, ci) order.
     */
    record Stem(ConvBnAct conv, PackedWeights weight) implements Layer {
        static Stem of(ConvBnAct c, Weights w, double eps, CpuKernels kernels) {
            if (c.dilation() != 1) throw new IllegalArgumentException("a dilated stem is not supported: " + c);
            FoldedConv f = FoldedConv.fold(c, w, eps);
            int k = c.kernel(), cin = c.inChannels(), cout = c.outChannels(), kk = k * k * cin;
            float[] outIn = new float[cout * kk];
            for (int co = 0; co < cout; co++)
                for (int ci = 0; ci < cin; ci++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++)
                            outIn[co * kk + (kx * k + ky) * cin + ci] = f.weight()[((co * cin + ci) * k + ky) * k + kx];
            return new Stem(c, kernels.pack(outIn, f.bias(), cout, kk));
        }

        /** Floats in one interleaved row: (W+2p) columns of k*Cin. */
        static int rowFloats(DepthwiseGeometry g) {
            return (g.width() + 2 * g.pad()) * g.kernel() * g.channels();
        }

        /**
         * The interleaved row for output row oy, [x][ky][ci] over the padded width, from the NCHW
         * image at inOff: zeros where a tap falls in the padding.
         */
        static void patchRow(DepthwiseGeometry g, float[] in, int inOff, int oy, float[] dst) {
            int k = g.kernel(), cin = g.channels(), w = g.width(), p = g.pad(), col = k * cin, plane = g.height() * w;
            int pw = w + 2 * p;
            for (int ky = 0; ky < k; ky++) {
                int iy = oy * g.stride() - p + ky;
                for (int ci = 0; ci < cin; ci++) {
                    int d = ky * cin + ci;
                    if (iy < 0 || iy >= g.height()) {
                        for (int x = 0; x < pw; x++) dst[x * col + d] = 0f;
                        continue;
                    }
                    for (int x = 0; x < p; x++) {
                        dst[x * col + d] = 0f;
                        dst[(p + w + x) * col + d] = 0f;
                    }
                    int src = inOff + ci * plane + iy * w, o = p * col + d;
                    for (int x = 0; x < w; x++) dst[o + x * col] = in[src + x];
                }
            }
        }

        /** How far apart the A rows of neighbouring output pixels are in the interleaved row. */
        static int pixelStride(DepthwiseGeometry g) {
            return g.stride() * g.kernel() * g.channels();
        }
    }

    /** A 1x1 conv as a GEMM: weights packed into panels. */
    record Pointwise(ConvBnAct conv, PackedWeights weight) implements Layer {
        static Pointwise of(ConvBnAct c, Weights w, double eps, CpuKernels kernels) {
            FoldedConv f = FoldedConv.fold(c, w, eps);
            return new Pointwise(c, kernels.pack(f.weight(), f.bias(), c.outChannels(), c.inChannels()));
        }

        Activation act() {
            return conv.activation();
        }
    }

    /** A depthwise conv: weights [k*k][C], so one tap's weights for adjacent channels are one vector. */
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
        static Se of(SqueezeExcite se, Weights w, CpuKernels kernels) {
            SeWeights sw = SeWeights.of(se, w); // zero biases for a bias-free SE: the GEMM tiles start from the bias
            int c = se.channels(), sq = se.squeezeChannels();
            return new Se(se, kernels.pack(sw.fc1Weight(), sw.fc1Bias(), sq, c),
                    kernels.pack(sw.fc2Weight(), sw.fc2Bias(), c, sq));
        }
    }

    /** A bottleneck: the expansion (null where there is none), depthwise conv, SE (null where none) and projection. */
    record Block(Bottleneck node, Pointwise expand, Depthwise depthwise, Se se, Pointwise project) implements Layer {
        static Block of(Bottleneck b, Weights w, double eps, CpuKernels k) {
            return new Block(b, b.expand() != null ? Pointwise.of(b.expand(), w, eps, k) : null, Depthwise.of(b.depthwise(), w, eps),
                    b.se() != null ? Se.of(b.se(), w, k) : null, Pointwise.of(b.project(), w, eps, k));
        }
    }

    /** The global average pool: no weights; it ends the per-image part of the network. */
    record AveragePool(GlobalAvgPool node) implements Layer {
    }

    /** A linear layer of the classifier, run once per batch as an [N, in] x [in, out] GEMM. */
    record Dense(Linear node, PackedWeights weight) implements Layer {
        static Dense of(Linear l, Weights w, CpuKernels kernels) {
            return new Dense(l, kernels.pack(w.data(l.name() + ".weight"), w.data(l.name() + ".bias"),
                    l.outFeatures(), l.inFeatures()));
        }
    }
}
