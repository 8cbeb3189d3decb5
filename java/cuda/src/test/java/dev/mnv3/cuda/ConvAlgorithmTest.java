package dev.mnv3.cuda;

import static dev.mnv3.cuda.exec.ConvAlgorithm.DIRECT;
import static dev.mnv3.cuda.exec.ConvAlgorithm.FFT;
import static dev.mnv3.cuda.exec.ConvAlgorithm.GEMM;
import static dev.mnv3.cuda.exec.ConvAlgorithm.IMPLICIT_GEMM;
import static dev.mnv3.cuda.exec.ConvAlgorithm.IMPLICIT_PRECOMP_GEMM;
import static dev.mnv3.cuda.exec.ConvAlgorithm.WINOGRAD;
import static dev.mnv3.cuda.exec.ConvAlgorithm.WINOGRAD_NONFUSED;
import static dev.mnv3.cuda.ffi.Cudnn.CUDNN_DEFAULT_MATH;
import static dev.mnv3.cuda.ffi.Cudnn.CUDNN_FMA_MATH;
import static dev.mnv3.cuda.ffi.Cudnn.CUDNN_TENSOR_OP_MATH;
import static dev.mnv3.cuda.ffi.Cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mnv3.core.backend.Precision;
import java.util.List;
import org.junit.jupiter.api.Test;
import dev.mnv3.cuda.exec.ConvAlgorithm;

class ConvAlgorithmTest {
    private static ConvAlgorithm.Candidate c(int algo, int status, long ws, int math) {
        return new ConvAlgorithm.Candidate(algo, status, ws, math);
    }

    @Test
    void fp32KeepsEveryExactAlgorithmInRankOrderAndRunsEachWithFma() {
        List<ConvAlgorithm.Candidate> ranked = List.of(c(WINOGRAD, 0, 0, CUDNN_FMA_MATH), c(FFT, 0, 1 << 20, CUDNN_FMA_MATH),
                c(IMPLICIT_PRECOMP_GEMM, 3000, 0, CUDNN_FMA_MATH), c(GEMM, 0, 1 << 30, CUDNN_FMA_MATH),
                c(IMPLICIT_PRECOMP_GEMM, 0, 0, CUDNN_TENSOR_OP_MATH), c(DIRECT, 0, 4096, CUDNN_FMA_MATH),
                c(IMPLICIT_PRECOMP_GEMM, 0, 0, CUDNN_DEFAULT_MATH));
        assertEquals(List.of(new ConvAlgorithm.Choice(IMPLICIT_PRECOMP_GEMM, CUDNN_FMA_MATH), new ConvAlgorithm.Choice(DIRECT,
                CUDNN_FMA_MATH)), ConvAlgorithm.candidates(ranked, Precision.FP32),
                "a row reported with another math type stays, run with FMA; failed, FFT, Winograd and huge rows go");
    }

    @Test
    void fallsBackToImplicitGemmWithFma() {
        assertEquals(List.of(new ConvAlgorithm.Choice(IMPLICIT_GEMM, CUDNN_FMA_MATH)),
                ConvAlgorithm.candidates(List.of(), Precision.FP32));
        assertEquals(List.of(new ConvAlgorithm.Choice(IMPLICIT_GEMM, CUDNN_FMA_MATH)),
                ConvAlgorithm.candidates(List.of(c(FFT, 0, 0, CUDNN_FMA_MATH)), Precision.FP32));
    }

    @Test
    void tf32AcceptsTensorOpsButNeverDownConversion() {
        List<ConvAlgorithm.Candidate> ranked = List.of(c(IMPLICIT_PRECOMP_GEMM, 0, 0, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION),
                c(IMPLICIT_GEMM, 0, 0, CUDNN_TENSOR_OP_MATH), c(GEMM, 0, 0, CUDNN_FMA_MATH));
        assertEquals(List.of(new ConvAlgorithm.Choice(IMPLICIT_GEMM, CUDNN_TENSOR_OP_MATH), new ConvAlgorithm.Choice(GEMM,
                CUDNN_FMA_MATH)), ConvAlgorithm.candidates(ranked, Precision.TF32));
        assertEquals(CUDNN_TENSOR_OP_MATH, ConvAlgorithm.mathType(Precision.TF32));
        assertEquals(CUDNN_FMA_MATH, ConvAlgorithm.mathType(Precision.FP32));
        assertEquals(CUDNN_TENSOR_OP_MATH, ConvAlgorithm.mathType(Precision.FP16));
        assertEquals(CUDNN_TENSOR_OP_MATH, ConvAlgorithm.mathType(Precision.BF16));
    }

    @Test
    void halfPrecisionKeepsTensorOpCandidatesAndFallsBackToPrecomputedGemm() {
        List<ConvAlgorithm.Candidate> ranked = List.of(c(WINOGRAD_NONFUSED, 0, 0, CUDNN_TENSOR_OP_MATH),
                c(IMPLICIT_PRECOMP_GEMM, 0, 1 << 20, CUDNN_TENSOR_OP_MATH));
        assertEquals(List.of(new ConvAlgorithm.Choice(IMPLICIT_PRECOMP_GEMM, CUDNN_TENSOR_OP_MATH)),
                ConvAlgorithm.candidates(ranked, Precision.FP16));
        assertEquals(List.of(new ConvAlgorithm.Choice(IMPLICIT_PRECOMP_GEMM, CUDNN_TENSOR_OP_MATH)),
                ConvAlgorithm.candidates(List.of(c(FFT, 0, 0, CUDNN_TENSOR_OP_MATH)), Precision.BF16));
    }

    @Test
    void theFastestMeasuredWinsAndAFailedTimingNeverDoes() {
        List<ConvAlgorithm.Choice> choices = List.of(new ConvAlgorithm.Choice(IMPLICIT_GEMM, CUDNN_FMA_MATH),
                new ConvAlgorithm.Choice(GEMM, CUDNN_FMA_MATH), new ConvAlgorithm.Choice(DIRECT, CUDNN_FMA_MATH));
        assertEquals(choices.get(1), ConvAlgorithm.fastest(choices, new double[] {0.3, 0.1, Double.NaN}));
        assertEquals(choices.get(2), ConvAlgorithm.fastest(choices, new double[] {Double.NaN, Double.NaN, 0.5}));
        assertEquals(choices.get(0), ConvAlgorithm.fastest(choices, new double[] {Double.NaN, Double.NaN, Double.NaN}));
    }
}
