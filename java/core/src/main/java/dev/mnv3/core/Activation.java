package dev.mnv3.core;

/** The element-wise nonlinearities MobileNetV3 uses, with the exact formulas torchvision applies. */
public enum Activation {
    IDENTITY, RELU, HARDSWISH, HARDSIGMOID;

    public float apply(float x) {
        return switch (this) {
            case IDENTITY -> x;
            case RELU -> Math.max(x, 0f);
            case HARDSWISH -> x * relu6(x + 3f) / 6f;
            case HARDSIGMOID -> relu6(x + 3f) / 6f;
        };
    }

    static float relu6(float x) {
        return Math.min(Math.max(x, 0f), 6f);
    }

    /** Parses the short names of the MobileNetV3 paper tables ("RE", "HS") as well as the enum names. */
    public static Activation parse(String s) {
        return switch (s.trim().toUpperCase(java.util.Locale.ROOT)) {
            case "RE", "RELU" -> RELU;
            case "HS", "HSWISH", "HARDSWISH", "H-SWISH" -> HARDSWISH;
            case "HSIGMOID", "HARDSIGMOID", "H-SIGMOID" -> HARDSIGMOID;
            case "ID", "IDENTITY", "NONE", "LINEAR" -> IDENTITY;
            default -> throw new IllegalArgumentException(
                    "unknown activation '" + s + "' (expected RE, HS, HARDSIGMOID or IDENTITY)");
        };
    }

    /** The short name used in tables and in `mnv3 info`. */
    public String shortName() {
        return switch (this) {
            case IDENTITY -> "-";
            case RELU -> "RE";
            case HARDSWISH -> "HS";
            case HARDSIGMOID -> "HSIG";
        };
    }
}
