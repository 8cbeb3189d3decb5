package dev.mnv3.cuda.plan;

import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.tensor.DType;

/**
 * The element type activations (and 16-bit filters) are stored in on the device, which also fixes
 * their layout. One of three numeric enums: {@link Precision} is the arithmetic a user asks for,
 * {@link DType} a tensor's element type at the API, and this what a precision stores on the GPU
 * ({@link #of}). FP32 and TF32 keep float NCHW (cuDNN's exact path); FP16 and BF16 store NHWC in
 * 16 bits (what tensor cores read) and compute in float. The host
 * side conversions round to nearest even, exactly as the kernels' {@code mnv3_from_float} does.
 */
public enum StorageType {
    F32(4, 0, ""),
    F16(2, 2, "f16"),
    BF16(2, 9, "bf16");

    public final int bytes;
    /** cudnnDataType_t: CUDNN_DATA_FLOAT, CUDNN_DATA_HALF, CUDNN_DATA_BFLOAT16. */
    public final int cudnnType;
    /** The suffix of the kernels that read and write this type (mnv3_<op>_<suffix>_* in native/*.cu). */
    public final String kernelSuffix;

    StorageType(int bytes, int cudnnType, String kernelSuffix) {
        this.bytes = bytes;
        this.cudnnType = cudnnType;
        this.kernelSuffix = kernelSuffix;
    }

    public static StorageType of(Precision p) {
        return switch (p) {
            case FP32, TF32 -> F32;
            case FP16 -> F16;
            case BF16 -> BF16;
        };
    }

    /** NHWC 16-bit storage, run by the FP16/BF16 kernels of native/*.cu. */
    public boolean isHalf() {
        return this != F32;
    }

    /** The element type of this storage. */
    public DType dtype() {
        return switch (this) {
            case F32 -> DType.F32;
            case F16 -> DType.F16;
            case BF16 -> DType.BF16;
        };
    }

    /** The 16-bit pattern of {@code v}, rounded to nearest even (F16 and BF16 only), as the kernels round. */
    public short encode(float v) {
        return dtype().encode(v);
    }

    public float decode(short bits) {
        return dtype().decode(bits);
    }

    /** {@code v} as this type stores it. */
    public float round(float v) {
        return this == F32 ? v : decode(encode(v));
    }
}
