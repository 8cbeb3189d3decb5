package dev.mnv3.core.weights;

import java.util.Locale;

/** The safetensors element types mnv3 reads and writes. */
public enum DType {
    F32(4), F16(2), BF16(2), I64(8);

    /** Every dtype name the safetensors format defines, to tell "unsupported" from "not a dtype". */
    static final java.util.Set<String> KNOWN_NAMES = java.util.Set.of(
            "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "I16", "U16",
            "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64", "C64");

    public final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public boolean isFloat() {
        return this != I64;
    }

    /** Parses a header dtype, naming the supported ones when it is not. */
    static DType parse(String name, String tensor) throws IllegalArgumentException {
        for (DType d : values()) {
            if (d.name().equals(name)) return d;
        }
        String what = KNOWN_NAMES.contains(name.toUpperCase(Locale.ROOT)) ? "unsupported dtype " : "unknown dtype ";
        throw new IllegalArgumentException("tensor '" + tensor + "' has " + what + name + " (supported: F32, F16, BF16, I64)");
    }
}
