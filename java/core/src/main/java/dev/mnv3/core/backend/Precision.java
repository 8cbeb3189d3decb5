package dev.mnv3.core.backend;

import java.util.Locale;

/** Numeric precision of a backend's arithmetic. Inputs and outputs are float32 whatever it is. */
public enum Precision {
    /** IEEE float32 with FMA; no reduced-precision tensor-core math. */
    FP32,
    /** float32 storage, TF32 tensor-core math (GPU only). */
    TF32,
    FP16,
    BF16;

    /**
     * The relative-L2 tolerance of any node against the FP32 CPU reference, each set about 1.5x
     * above the worst node measured on the CPU with the GPU plan's exact rounding points (the
     * CUDA module's ReducedPrecisionPlanTest; docs/numerics.md has the figures). On
     * random weights MobileNetV3-Large amplifies a rounding error about 25x between its stem and its last block
     * (the FP32 path shows it too: 3e-6 against PyTorch, 50 float epsilons), so every reduced
     * precision lands far above its unit roundoff:
     * <ul>
     * <li>TF32 (10 mantissa bits in the convolutions' operands, float accumulation): up to 1.1e-2
     *     when the operands are rounded to nearest and 3.3e-2 when truncated; which of the two
     *     cuDNN's kernels do is not documented, so the tolerance covers truncation;</li>
     * <li>FP16 storage of every activation (unit roundoff 4.9e-4): up to 1.45e-2 at 224x224;</li>
     * <li>BF16 storage (3.9e-3): up to 5.5e-2.</li>
     * </ul>
     * The top-1 criterion ({@link #top1Agreement()}) is the one that speaks for classification.
     */
    public double tolerance() {
        return switch (this) {
            case FP32 -> 1e-5;
            case TF32 -> 5e-2;
            case FP16 -> 2e-2;
            case BF16 -> 8e-2;
        };
    }

    /**
     * The share of random inputs whose top-1 class must equal the FP32 reference's. Measured on 128
     * random inputs to Large: FP16 128, TF32 128 rounded to nearest and 126 truncated, BF16 123.
     */
    public double top1Agreement() {
        return switch (this) {
            case FP32, FP16 -> 0.99;
            case TF32 -> 0.97;
            case BF16 -> 0.95;
        };
    }

    public static Precision parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown precision '" + s + "' (expected fp32, tf32, fp16 or bf16)");
        }
    }
}
