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

    /** The relative-L2 tolerance against the FP32 CPU reference (DESIGN.md §5). */
    public double tolerance() {
        return switch (this) {
            case FP32 -> 1e-5;
            case TF32 -> 1e-3;
            case FP16, BF16 -> 1e-2;
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
