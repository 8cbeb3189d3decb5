package dev.mnv3.cuda.plan;

import dev.mnv3.core.backend.CudaSettings;

/**
 * Who runs a convolution that both can: our kernel or cuDNN (plus our bias and activation
 * epilogue). Ours can run every conv of the network at every precision; where cuDNN is loaded
 * ({@link dev.mnv3.core.backend.CudnnMode}), three kinds have the choice: depthwise convs
 * (memory-bound; cuDNN's speed varies with shape and card), 1x1 convs (ours fuses the epilogue,
 * the residual and the SE scale, so it saves passes over memory, while cuDNN may have the better
 * GEMM) and the stem (in FP16/BF16 plans ours also reads the float input directly: no conversion
 * pass, no rounding before the first layer). By default both are timed once per shape, on the
 * device, when a plan is built, and the faster is kept (see {@code exec.KernelTuner}).
 * {@link CudaSettings#depthwise()}, {@code pointwise} and {@code stem} fix the choice for diagnosis
 * and benchmarks ({@code cudnn} needs cuDNN loaded). Depthwise convs of
 * SE blocks in FP16/BF16 plans are always ours: they also write the squeeze's partial sums.
 */
public final class KernelChoice {
    public enum Impl { OURS, CUDNN }

    /**
     * Who runs each conv that both ours and cuDNN can run; {@link Lowering} overrides it where only
     * one of them can.
     */
    @FunctionalInterface
    public interface Selection {
        /** cuDNN wherever it can: the plan of a device whose every conv cuDNN won. */
        Selection CUDNN = c -> Impl.CUDNN;
        /** Ours everywhere: the plan of a driver-only model. */
        Selection OURS = c -> Impl.OURS;

        Impl choose(dev.mnv3.core.graph.ConvBnAct conv);
    }

    /** The other must win by this margin to replace the default: the measurement is short. */
    public static final double MARGIN = 0.95;

    private KernelChoice() {
    }

    /**
     * The faster by measured milliseconds, {@code preferred} unless the other beats it by the
     * margin; a time that is NaN means that implementation could not run the shape.
     */
    public static Impl faster(Impl preferred, double oursMs, double cudnnMs) {
        double mine = preferred == Impl.OURS ? oursMs : cudnnMs, other = preferred == Impl.OURS ? cudnnMs : oursMs;
        if (!Double.isFinite(mine)) return Double.isFinite(other) ? flip(preferred) : preferred;
        return Double.isFinite(other) && other < MARGIN * mine ? flip(preferred) : preferred;
    }

    private static Impl flip(Impl i) {
        return i == Impl.OURS ? Impl.CUDNN : Impl.OURS;
    }
}
