package dev.mnv3.cuda;

import java.util.Locale;

/**
 * Who runs a depthwise convolution: our kernel or cuDNN's grouped convolution (plus our bias and
 * activation epilogue). Depthwise is memory-bound and cuDNN's speed on it varies with the shape
 * and the card, so by default both are timed once per shape, on the device, when a plan is built,
 * and the faster is kept (see {@link DevicePlan}). {@code -Dmnv3.cuda.depthwise=ours|cudnn|auto}
 * fixes the choice for diagnosis and benchmarks. Depthwise convs of SE blocks in FP16/BF16 plans
 * are always ours: they also write the squeeze's partial sums.
 */
final class DepthwiseChoice {
    static final String PROPERTY = "mnv3.cuda.depthwise";

    enum Mode { AUTO, OURS, CUDNN }

    enum Impl { OURS, CUDNN }

    /** cuDNN must win by this margin to be chosen: the measurement is short and ours fuses the epilogue. */
    static final double MARGIN = 0.95;

    private DepthwiseChoice() {
    }

    static Mode mode() {
        String v = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "auto" -> Mode.AUTO;
            case "ours" -> Mode.OURS;
            case "cudnn" -> Mode.CUDNN;
            default -> throw new IllegalArgumentException("-D" + PROPERTY + " must be auto, ours or cudnn, got '" + v + "'");
        };
    }

    /** The faster of the two by their measured milliseconds; cuDNN's is NaN when it could not run the shape. */
    static Impl faster(double oursMs, double cudnnMs) {
        return Double.isFinite(cudnnMs) && cudnnMs < MARGIN * oursMs ? Impl.CUDNN : Impl.OURS;
    }
}
