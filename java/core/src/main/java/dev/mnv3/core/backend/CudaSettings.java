package dev.mnv3.core.backend;

import java.util.Locale;

/**
 * How the CUDA backend runs (other backends ignore it). The defaults come from the documented
 * system properties {@code -Dmnv3.cuda.depthwise}, {@code .pointwise}, {@code .stem},
 * {@code .streams} and {@code .debug} when they are set.
 *
 * @param depthwise who runs depthwise convs that both can run: timed once per shape (auto), ours, or cuDNN
 * @param pointwise the same for 1x1 convs
 * @param stem      the same for the first (dense k x k) conv
 * @param streams   how many calls run at once, each on its own stream; 0 means {@value #DEFAULT_STREAMS}
 * @param debug     synchronize and check after every step, naming the step that failed (no CUDA graphs)
 */
public record CudaSettings(ConvKernels depthwise, ConvKernels pointwise, ConvKernels stem, int streams, boolean debug)
        implements java.io.Serializable {
    public static final String DEPTHWISE_PROPERTY = "mnv3.cuda.depthwise", POINTWISE_PROPERTY = "mnv3.cuda.pointwise",
            STEM_PROPERTY = "mnv3.cuda.stem", STREAMS_PROPERTY = "mnv3.cuda.streams", DEBUG_PROPERTY = "mnv3.cuda.debug";
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
        if (depthwise == null) depthwise = ConvKernels.AUTO;
        if (pointwise == null) pointwise = ConvKernels.AUTO;
        if (stem == null) stem = ConvKernels.AUTO;
        if (streams < 0 || streams > MAX_STREAMS) {
            throw new IllegalArgumentException("CUDA streams must be from 1 to " + MAX_STREAMS + " (0: " + DEFAULT_STREAMS
                    + "), got " + streams);
        }
    }

    /** Auto everywhere, {@value #DEFAULT_STREAMS} streams, no debug, unless the properties say otherwise. */
    public static CudaSettings fromProperties() {
        return new CudaSettings(conv(DEPTHWISE_PROPERTY), conv(POINTWISE_PROPERTY), conv(STEM_PROPERTY),
                Settings.intProperty(STREAMS_PROPERTY, 0), Settings.booleanProperty(DEBUG_PROPERTY, false));
    }

    private static ConvKernels conv(String property) {
        return ConvKernels.parse("-D" + property, System.getProperty(property, "auto"));
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
        return new CudaSettings(dw, pw, st, streams, debug);
    }

    public CudaSettings withStreams(int n) {
        return new CudaSettings(depthwise, pointwise, stem, n, debug);
    }

    public CudaSettings withDebug(boolean on) {
        return new CudaSettings(depthwise, pointwise, stem, streams, on);
    }

    /** Who runs {@code c} when both can: the setting of its kind (depthwise, 1x1, or the stem: any other dense conv). */
    public ConvKernels kernelsFor(dev.mnv3.core.graph.ConvBnAct c) {
        return c.isDepthwise() ? depthwise : c.isPointwise() ? pointwise : stem;
    }

    /** Whether some conv kind must run on cuDNN. */
    public boolean asksForCudnn() {
        return depthwise == ConvKernels.CUDNN || pointwise == ConvKernels.CUDNN || stem == ConvKernels.CUDNN;
    }

    public int resolvedStreams() {
        return streams > 0 ? streams : DEFAULT_STREAMS;
    }
}
