package dev.mnv3.core.backend;

import java.util.Locale;

/**
 * How the CUDA backend runs (other backends ignore it): a plain value, read from no JVM state
 * ({@link CompileOptions#fromSystemProperties()} reads the {@code -Dmnv3.cuda.*} properties for
 * the CLI).
 *
 * @param device    the GPU the model lives on (device ordinal); -1 means the default, device 0
 * @param cudnn     whether cuDNN is used ({@link CudnnMode#AUTO}: where it is found)
 * @param graphs    replay each (batch, size) as a captured CUDA graph from its second run on; false
 *                  launches every kernel every run
 * @param depthwise who runs depthwise convs that both can run: timed once per shape (auto), ours, or cuDNN
 * @param pointwise the same for 1x1 convs
 * @param stem      the same for the first (dense k x k) conv
 * @param streams   how many calls run at once, each on its own stream; 0 means {@value #DEFAULT_STREAMS}
 * @param debug     synchronize and check after every step, naming the step that failed (no CUDA graphs)
 */
public record CudaSettings(int device, CudnnMode cudnn, boolean graphs, ConvKernels depthwise, ConvKernels pointwise,
                           ConvKernels stem, int streams, boolean debug)
        implements java.io.Serializable {
    public static final String DEVICE_PROPERTY = "mnv3.cuda.device", GRAPHS_PROPERTY = "mnv3.cuda.graphs", DEPTHWISE_PROPERTY = "mnv3.cuda.depthwise",
            POINTWISE_PROPERTY = "mnv3.cuda.pointwise", STEM_PROPERTY = "mnv3.cuda.stem", STREAMS_PROPERTY = "mnv3.cuda.streams",
            DEBUG_PROPERTY = "mnv3.cuda.debug";
    public static final int DEFAULT_STREAMS = 4, MAX_STREAMS = 64;

    /** Who runs a conv that both our kernels and cuDNN can run. */
    public enum ConvKernels {
        AUTO, OURS, CUDNN;

        public static ConvKernels parse(String what, String v) {
            return switch (v.trim().toLowerCase(Locale.ROOT)) {
                case "auto" -> AUTO;
                case "ours" -> OURS;
                case "cudnn" -> CUDNN;
                default -> throw new IllegalArgumentException(what + " must be auto, ours or cudnn, got '" + v + "'");
            };
        }
    }

    public CudaSettings {
        if (device < -1) throw new IllegalArgumentException("CudaSettings.device must be a device number (0, 1, ...), got " + device);
        if (cudnn == null) cudnn = CudnnMode.AUTO;
        if (depthwise == null) depthwise = ConvKernels.AUTO;
        if (pointwise == null) pointwise = ConvKernels.AUTO;
        if (stem == null) stem = ConvKernels.AUTO;
        if (streams < 0 || streams > MAX_STREAMS) {
            throw new IllegalArgumentException("CudaSettings.streams must be from 1 to " + MAX_STREAMS + " (0: " + DEFAULT_STREAMS
                    + "), got " + streams);
        }
    }

    /** Device 0, cuDNN where found, CUDA graphs, auto everywhere, {@value #DEFAULT_STREAMS} streams, no debug. */
    public static CudaSettings defaults() {
        return new CudaSettings(-1, CudnnMode.AUTO, true, ConvKernels.AUTO, ConvKernels.AUTO, ConvKernels.AUTO, 0, false);
    }

    /** The defaults, changed by the properties that are set. */
    static CudaSettings fromProperties() {
        return new CudaSettings(deviceProperty(), CudnnMode.AUTO, Settings.booleanProperty(GRAPHS_PROPERTY, true),
                Settings.convProperty(DEPTHWISE_PROPERTY), Settings.convProperty(POINTWISE_PROPERTY), Settings.convProperty(STEM_PROPERTY),
                Settings.intProperty(STREAMS_PROPERTY, 0), Settings.booleanProperty(DEBUG_PROPERTY, false));
    }

    private static int deviceProperty() {
        int d = Settings.intProperty(DEVICE_PROPERTY, -1);
        if (d < -1) throw new IllegalArgumentException("-D" + DEVICE_PROPERTY + " must be a device number (0, 1, ...), got " + d);
        return d;
    }

    /**
     * The CLI's {@code --conv-kernels}: one value for every kind, or {@code kind=value} pairs
     * separated by commas (kinds: depthwise, pointwise, stem); the kinds not named keep theirs.
     */
    public CudaSettings withConvKernels(String spec) {
        ConvKernels dw = depthwise, pw = pointwise, st = stem;
        for (String part : spec.split(",")) {
            String p = part.trim();
            int eq = p.indexOf('=');
            if (eq < 0) {
                dw = pw = st = ConvKernels.parse("conv kernels", p);
                continue;
            }
            String kind = p.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            ConvKernels v = ConvKernels.parse(kind + " kernels", p.substring(eq + 1));
            switch (kind) {
                case "depthwise" -> dw = v;
                case "pointwise" -> pw = v;
                case "stem" -> st = v;
                default -> throw new IllegalArgumentException("conv kinds are depthwise, pointwise and stem, got '" + kind + "'");
            }
        }
        return new CudaSettings(device, cudnn, graphs, dw, pw, st, streams, debug);
    }

    /** The GPU the model lives on (device ordinal); one model, one device. */
    public CudaSettings withDevice(int ordinal) {
        return new CudaSettings(ordinal, cudnn, graphs, depthwise, pointwise, stem, streams, debug);
    }

    public CudaSettings withCudnn(CudnnMode mode) {
        return new CudaSettings(device, mode, graphs, depthwise, pointwise, stem, streams, debug);
    }

    public CudaSettings withGraphs(boolean on) {
        return new CudaSettings(device, cudnn, on, depthwise, pointwise, stem, streams, debug);
    }

    public CudaSettings withStreams(int n) {
        return new CudaSettings(device, cudnn, graphs, depthwise, pointwise, stem, n, debug);
    }

    public CudaSettings withDebug(boolean on) {
        return new CudaSettings(device, cudnn, graphs, depthwise, pointwise, stem, streams, on);
    }

    /** Who runs {@code c} when both can: the setting of its kind (depthwise, 1x1, or the stem: any other dense conv). */
    public ConvKernels kernelsFor(dev.mnv3.core.graph.ConvBnAct c) {
        return c.isDepthwise() ? depthwise : c.isPointwise() ? pointwise : stem;
    }

    /** Whether some conv kind must run on cuDNN. */
    public boolean asksForCudnn() {
        return depthwise == ConvKernels.CUDNN || pointwise == ConvKernels.CUDNN || stem == ConvKernels.CUDNN;
    }

    /** The device ordinal to use: {@link #device}, or 0 when it is -1. */
    public int resolvedDevice() {
        return Math.max(device, 0);
    }

    /** The first field that asks for cuDNN, as {@code CudaSettings.<field>} (for messages); null when none does. */
    public String cudnnKind() {
        return depthwise == ConvKernels.CUDNN ? "CudaSettings.depthwise" : pointwise == ConvKernels.CUDNN ? "CudaSettings.pointwise"
                : stem == ConvKernels.CUDNN ? "CudaSettings.stem" : null;
    }

    public int resolvedStreams() {
        return streams > 0 ? streams : DEFAULT_STREAMS;
    }
}
