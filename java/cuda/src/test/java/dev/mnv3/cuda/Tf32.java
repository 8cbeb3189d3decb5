package dev.mnv3.cuda;

/**
 * How a tensor-core TF32 convolution sees its float operands: 8 exponent bits and 10 mantissa
 * bits, accumulated in float. Which rounding cuDNN's kernels use is not documented (CUTLASS rounds
 * to nearest, the hardware fed raw float bits truncates), so TF32 numerics are measured both ways.
 */
enum Tf32 {
    /** Exact float operands: FP32 plans. */
    OFF,
    /** Round to nearest, ties away from zero (PTX cvt.rna.tf32.f32). */
    NEAREST,
    /** The low 13 mantissa bits dropped. */
    TRUNCATE;

    private static final int LOW_BITS = 0x1fff;

    float round(float v) {
        if (this == OFF || !Float.isFinite(v)) return v;
        int bits = Float.floatToRawIntBits(v);
        if (this == NEAREST) bits += 0x1000; // sign-magnitude: adding half an ulp rounds the magnitude, ties away
        return Float.intBitsToFloat(bits & ~LOW_BITS);
    }

    float[] round(float[] a) {
        if (this == OFF) return a;
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) r[i] = round(a[i]);
        return r;
    }
}
