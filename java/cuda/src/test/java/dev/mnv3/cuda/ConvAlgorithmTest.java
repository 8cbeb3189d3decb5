package dev.mnv3.cuda;

import static dev.mnv3.cuda.ConvAlgorithm.DIRECT;
import static dev.mnv3.cuda.ConvAlgorithm.FFT;
import static dev.mnv3.cuda.ConvAlgorithm.GEMM;
import static dev.mnv3.cuda.ConvAlgorithm.IMPLICIT_GEMM;
import static dev.mnv3.cuda.ConvAlgorithm.IMPLICIT_PRECOMP_GEMM;
import static dev.mnv3.cuda.ConvAlgorithm.WINOGRAD;
import static dev.mnv3.cuda.ConvAlgorithm.WINOGRAD_NONFUSED;
import static dev.mnv3.cuda.Cudnn.CUDNN_DEFAULT_MATH;
import static dev.mnv3.cuda.Cudnn.CUDNN_FMA_MATH;
import static dev.mnv3.cuda.Cudnn.CUDNN_TENSOR_OP_MATH;
import static dev.mnv3.cuda.Cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mnv3.core.backend.Precision;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConvAlgorithmTest {
    private static ConvAlgorithm.Candidate c(int algo, int status, long ws, int math) {
        return new ConvAlgorithm.Candidate(algo, status, ws, math);
    }

    @Test
    void fp32TakesTheBestRankedExactFmaAlgorithm() {
        List<ConvAlgorithm.Candidate> ranked = List.of(c(WINOGRAD, 0, 0, CUDNN_FMA_MATH), c(FFT, 0, 1 << 20, CUDNN_FMA_MATH),
                c(IMPLICIT_PRECOMP_GEMM, 3000, 0, CUDNN_FMA_MATH), c(GEMM, 0, 1 << 30, CUDNN_FMA_MATH),
                c(IMPLICIT_PRECOMP_GEMM, 0, 0, CUDNN_TENSOR_OP_MATH), c(DIRECT, 0, 4096, CUDNN_FMA_MATH));
        assertEquals(new ConvAlgorithm.Choice(DIRECT, CUDNN_FMA_MATH), ConvAlgorithm.choose(ranked, Precision.FP32));
    }

    @Test
    void fallsBackToImplicitGemmWithFma() {
        assertEquals(new ConvAlgorithm.Choice(IMPLICIT_GEMM, CUDNN_FMA_MATH), ConvAlgorithm.choose(List.of(), Precision.FP32));
        assertEquals(new ConvAlgorithm.Choice(IMPLICIT_GEMM, CUDNN_FMA_MATH),
                ConvAlgorithm.choose(List.of(c(GEMM, 0, 0, CUDNN_DEFAULT_MATH)), Precision.FP32), "default math may be TF32");
    }

    @Test
    void tf32AcceptsTensorOpsButNeverDownConversion() {
        List<ConvAlgorithm.Candidate> ranked = List.of(c(IMPLICIT_PRECOMP_GEMM, 0, 0, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION),
                c(IMPLICIT_GEMM, 0, 0, CUDNN_TENSOR_OP_MATH));
        assertEquals(new ConvAlgorithm.Choice(IMPLICIT_GEMM, CUDNN_TENSOR_OP_MATH), ConvAlgorithm.choose(ranked, Precision.TF32));
        assertEquals(CUDNN_TENSOR_OP_MATH, ConvAlgorithm.mathType(Precision.TF32));
        assertEquals(CUDNN_FMA_MATH, ConvAlgorithm.mathType(Precision.FP32));
        assertEquals(CUDNN_TENSOR_OP_MATH, ConvAlgorithm.mathType(Precision.FP16));
        assertEquals(CUDNN_TENSOR_OP_MATH, ConvAlgorithm.mathType(Precision.BF16));
    }

    @Test
    void halfPrecisionTakesTheBestRankedTensorOpCandidateAndFallsBackToPrecomputedGemm() {
        List<ConvAlgorithm.Candidate> ranked = List.of(c(WINOGRAD_NONFUSED, 0, 0, CUDNN_TENSOR_OP_MATH),
                c(IMPLICIT_PRECOMP_GEMM, 0, 1 << 20, CUDNN_TENSOR_OP_MATH));
        assertEquals(new ConvAlgorithm.Choice(IMPLICIT_PRECOMP_GEMM, CUDNN_TENSOR_OP_MATH), ConvAlgorithm.choose(ranked, Precision.FP16));
        assertEquals(new ConvAlgorithm.Choice(IMPLICIT_PRECOMP_GEMM, CUDNN_TENSOR_OP_MATH),
                ConvAlgorithm.choose(List.of(c(FFT, 0, 0, CUDNN_TENSOR_OP_MATH)), Precision.BF16));
    }
}
