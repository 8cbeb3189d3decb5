package dev.mnv3.cuda.exec;

import dev.mnv3.core.backend.Precision;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.StorageType;
import java.util.List;
import java.util.Set;
import dev.mnv3.cuda.ffi.Cudnn;

/**
 * Which cuDNN forward algorithms, with which math type, a convolution may run; {@link KernelTuner}
 * times the candidates on the device when a plan is built and keeps the fastest. FP32 is strict:
 * every candidate runs with FMA math, whatever math type cuDNN's heuristic reports for it (its
 * report may differ from the descriptor's setting, and dropping such rows would leave only the
 * slowest algorithm); the GPU tests check each FP32 candidate against double-precision loops.
 * TF32 uses tensor-op math; CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION is never used because it may
 * convert FP32 data down to FP16, whose range is narrower than TF32's. FFT and Winograd are
 * skipped in all: their transforms lose more accuracy than the tolerances of
 * {@link Precision#tolerance()} allow. FP16 and BF16 (NHWC, float accumulation) use tensor-op math.
 */
public final class ConvAlgorithm {
    public static final int IMPLICIT_GEMM = 0, IMPLICIT_PRECOMP_GEMM = 1, GEMM = 2, DIRECT = 3, FFT = 4, FFT_TILING = 5,
            WINOGRAD = 6, WINOGRAD_NONFUSED = 7;
    /** No single layer of MobileNetV3 deserves more scratch memory than this. */
    public static final long MAX_WORKSPACE = 64L << 20;

    private ConvAlgorithm() {
    }

    /** One row of cudnnGetConvolutionForwardAlgorithm_v7's answer. */
    public record Candidate(int algo, int status, long workspace, int mathType) {
        static Candidate of(dev.mnv3.cuda.ffi.Cudnn.AlgorithmPerf p) {
            return new Candidate(p.algo(), p.status(), p.workspace(), p.mathType());
        }
    }

    /** What a convolution runs with. */
    public record Choice(int algo, int mathType) {
    }

    /** The convolution's shape: algorithms are chosen once per distinct key and reused. */
    public record Key(int n, int inChannels, int height, int width, int outChannels, int kernel, int stride, int pad,
               int dilation, int groups, Precision precision) {
        public static Key of(dev.mnv3.core.graph.ConvBnAct c, ForwardPlan.Ref in, Precision p) {
            return new Key(in.n(), in.c(), in.h(), in.w(), c.outChannels(), c.kernel(), c.stride(), c.padding(), c.dilation(),
                    c.groups(), p);
        }
    }

    /** The math type the descriptor is created with. */
    public static int mathType(Precision p) {
        return switch (p) {
            case FP32 -> Cudnn.CUDNN_FMA_MATH;
            case TF32, FP16, BF16 -> Cudnn.CUDNN_TENSOR_OP_MATH;
        };
    }

    /**
     * The acceptable candidates in cuDNN's order, without repeats; never empty: when cuDNN offers
     * nothing acceptable, the algorithm every layout supports (implicit GEMM with FMA for float NCHW,
     * precomputed implicit GEMM on tensor ops for 16-bit NHWC).
     */
    public static List<Choice> candidates(List<Candidate> ranked, Precision p) {
        Set<Choice> out = new LinkedHashSet<>();
        for (Candidate c : ranked) {
            if (c.status() != 0 || c.algo() >= FFT || c.workspace() > MAX_WORKSPACE) continue;
            if (c.mathType() == Cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
            out.add(new Choice(c.algo(), p == Precision.FP32 ? Cudnn.CUDNN_FMA_MATH : c.mathType()));
        }
        if (out.isEmpty()) out.add(fallback(p));
        return new ArrayList<>(out);
    }

    public static Choice fallback(Precision p) {
        return StorageType.of(p).isHalf() ? new Choice(IMPLICIT_PRECOMP_GEMM, Cudnn.CUDNN_TENSOR_OP_MATH)
                : new Choice(IMPLICIT_GEMM, Cudnn.CUDNN_FMA_MATH);
    }

    /** The fastest of {@code choices} by measured milliseconds (NaN: it failed); the first when none ran. */
    public static Choice fastest(List<Choice> choices, double[] millis) {
        int best = -1;
        for (int i = 0; i < choices.size(); i++) {
            if (Double.isFinite(millis[i]) && (best < 0 || millis[i] < millis[best])) best = i;
        }
        return choices.get(Math.max(best, 0));
    }
}
