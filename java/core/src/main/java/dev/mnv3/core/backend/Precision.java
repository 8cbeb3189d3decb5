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
     * The relative-L2 tolerance of any node against the FP32 CPU reference. FP32 and TF32 as in
     * DESIGN.md §5. The 16-bit types are looser than its 1e-2, for a measured reason: on random
     * weights MobileNetV3-Large amplifies a rounding error about 25x between its stem and its last
     * block (the FP32 path shows it too: 3e-6 against PyTorch, 50 float epsilons). Storing every
     * activation in FP16 (unit roundoff 4.9e-4) then costs up to 1.45e-2 at 224x224, and 1.26e-2
     * even with an exact float stem; BF16 (3.9e-3) costs up to 5.5e-2. Both are measured on the
     * CPU with the GPU plan's exact rounding points (the CUDA module's ReducedPrecisionPlanTest).
     * The top-1 criterion ({@link #top1Agreement()}) is the one that speaks for classification.
     */
    public double tolerance() {
        return switch (this) {
            case FP32 -> 1e-5;
            case TF32 -> 1e-3;
            case FP16 -> 2e-2;
            case BF16 -> 8e-2;
        };
    }

    /** The share of random inputs whose top-1 class must equal the FP32 reference's (DESIGN.md §5). */
    public double top1Agreement() {
        return switch (this) {
            case FP32, TF32, FP16 -> 0.99;
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
