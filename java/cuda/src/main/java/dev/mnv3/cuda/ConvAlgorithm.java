package dev.mnv3.cuda;

import dev.mnv3.core.backend.Precision;
import java.util.List;

/**
 * Chooses the cuDNN forward algorithm and math type of a convolution from cuDNN's ranked
 * candidates. FP32 is strict: FMA math only (cuDNN's default math allows TF32 on Ampere and
 * newer). TF32 uses tensor-op math; CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION is never used because
 * it may convert FP32 data down to FP16, whose range is narrower than TF32's. FFT and Winograd are
 * skipped in all: their transforms lose accuracy the tolerances of DESIGN.md §5 do not allow.
 * FP16 and BF16 (NHWC, float accumulation) use tensor-op math.
 */
final class ConvAlgorithm {
    static final int IMPLICIT_GEMM = 0, IMPLICIT_PRECOMP_GEMM = 1, GEMM = 2, DIRECT = 3, FFT = 4, FFT_TILING = 5,
            WINOGRAD = 6, WINOGRAD_NONFUSED = 7;
    /** No single layer of MobileNetV3 deserves more scratch memory than this. */
    static final long MAX_WORKSPACE = 256L << 20;

    private ConvAlgorithm() {
    }

    /** One row of cudnnGetConvolutionForwardAlgorithm_v7's answer. */
    record Candidate(int algo, int status, long workspace, int mathType) {
    }

    /** What a convolution runs with. */
    record Choice(int algo, int mathType) {
    }

    /** The convolution's shape: algorithms are chosen once per distinct key and reused. */
    record Key(int n, int inChannels, int height, int width, int outChannels, int kernel, int stride, int pad,
               int dilation, int groups, Precision precision) {
        static Key of(dev.mnv3.core.graph.ConvBnAct c, ForwardPlan.Ref in, Precision p) {
            return new Key(in.n(), in.c(), in.h(), in.w(), c.outChannels(), c.kernel(), c.stride(), c.padding(), c.dilation(),
                    c.groups(), p);
        }
    }

    /** The math type the descriptor is created with, which the heuristic then honours. */
    static int mathType(Precision p) {
        return switch (p) {
            case FP32 -> Cudnn.CUDNN_FMA_MATH;
            case TF32, FP16, BF16 -> Cudnn.CUDNN_TENSOR_OP_MATH;
        };
    }

    /**
     * The best-ranked acceptable candidate; otherwise the algorithm every layout supports: implicit
     * GEMM with FMA for float NCHW, precomputed implicit GEMM on tensor ops for 16-bit NHWC.
     */
    static Choice choose(List<Candidate> ranked, Precision p) {
        int wanted = mathType(p);
        for (Candidate c : ranked) {
            if (c.status() != 0 || c.algo() >= FFT || c.workspace() > MAX_WORKSPACE) continue;
            if (c.mathType() == Cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
            if (p == Precision.FP32 && c.mathType() != Cudnn.CUDNN_FMA_MATH) continue;
            return new Choice(c.algo(), p == Precision.FP32 ? wanted : c.mathType());
        }
        return Storage.of(p).isHalf() ? new Choice(IMPLICIT_PRECOMP_GEMM, Cudnn.CUDNN_TENSOR_OP_MATH)
                : new Choice(IMPLICIT_GEMM, Cudnn.CUDNN_FMA_MATH);
    }
}
