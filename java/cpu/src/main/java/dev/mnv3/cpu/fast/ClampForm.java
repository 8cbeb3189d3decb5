package dev.mnv3.cpu.fast;

import dev.mnv3.core.Activation;

/**
 * Every activation of the network as one formula, y = g * clamp(x * scale + shift, lo, hi) with
 * g = x for h-swish and 1 otherwise, so that vector loops apply any activation with the same
 * instructions instead of a switch (h-sigmoid becomes clamp(x/6 + 1/2, 0, 1), within an ulp of
 * torchvision's relu6(x + 3)/6).
 */
record ClampForm(float scale, float shift, float lo, float hi, boolean timesInput) {
    private static final float SIXTH = 1f / 6f;
    private static final ClampForm IDENTITY = new ClampForm(1f, 0f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, false);
    private static final ClampForm RELU = new ClampForm(1f, 0f, 0f, Float.POSITIVE_INFINITY, false);
    private static final ClampForm HARDSWISH = new ClampForm(SIXTH, 0.5f, 0f, 1f, true);
    private static final ClampForm HARDSIGMOID = new ClampForm(SIXTH, 0.5f, 0f, 1f, false);

    static ClampForm of(Activation a) {
        return switch (a) {
            case IDENTITY -> IDENTITY;
            case RELU -> RELU;
            case HARDSWISH -> HARDSWISH;
            case HARDSIGMOID -> HARDSIGMOID;
        };
    }

    boolean identity() {
        return this == IDENTITY;
    }
}
