package dev.mnv3.core.tensor;

import java.util.List;
import java.util.Locale;

/**
 * Element types: of {@link Tensor}s (F32, F16, BF16, U8) and of safetensors files (F32, F16, BF16,
 * I64). The 16-bit conversions round to nearest even, as the GPU kernels do, so a value converted
 * on the host and one converted on the device agree bit for bit.
 */
public enum DType {
    F32(4), F16(2), BF16(2), U8(1), I64(8);

    /** Every dtype name the safetensors format defines, to tell "unsupported" from "not a dtype". */
    static final java.util.Set<String> KNOWN_NAMES = java.util.Set.of(
            "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "I16", "U16",
            "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64", "C64");

    public final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public boolean isFloat() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** Parses a safetensors header dtype, naming the supported ones when it is not. */
    public static DType parse(String name, String tensor) throws IllegalArgumentException {
        for (DType d : List.of(F32, F16, BF16, I64)) {
            if (d.name().equals(name)) return d;
        }
        String what = KNOWN_NAMES.contains(name.toUpperCase(Locale.ROOT)) ? "unsupported dtype " : "unknown dtype ";
        throw new IllegalArgumentException("tensor '" + tensor + "' has " + what + name + " (supported: F32, F16, BF16, I64)");
    }

    /** The 16-bit pattern of {@code v} in F16 or BF16, rounded to nearest even; NaN stays NaN. */
    public short encode(float v) {
        return switch (this) {
            case F16 -> Float.floatToFloat16(v);
            case BF16 -> {
                int bits = Float.floatToRawIntBits(v);
                if (Float.isNaN(v)) yield (short) ((bits >>> 16) | 0x40); // stays a (quiet) NaN
                yield (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
            }
            default -> throw new IllegalStateException(this + " is not a 16-bit float type");
        };
    }

    /** The float value of a 16-bit pattern of F16 or BF16 (exact). */
    public float decode(short bits) {
        return switch (this) {
            case F16 -> Float.float16ToFloat(bits);
            case BF16 -> Float.intBitsToFloat((bits & 0xffff) << 16);
            default -> throw new IllegalStateException(this + " is not a 16-bit float type");
        };
    }

    public String lowerCase() {
        return name().toLowerCase(Locale.ROOT);
    }
}
