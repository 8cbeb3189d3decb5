package dev.mnv3.core;

import java.util.Locale;

/**
 * How a checkpoint names a MobileNetV3's tensors, and so which BatchNorm eps the code that wrote
 * it used. A plain value: which names each layout gives a graph's tensors, and how a file's
 * layout is told from its names, live with the weights (their {@code WeightNames}).
 */
public enum CheckpointLayout {
    /** torchvision's state_dict: {@code features.N.block.K.*}; the canonical names. */
    TORCHVISION("torchvision's layout (features.N.block.K.*)", MobileNetV3Config.TORCHVISION_BN_EPS),
    /** timm's: {@code conv_stem}, {@code blocks.S.B.*}, {@code conv_head}. */
    TIMM("timm's layout (conv_stem, blocks.S.B.*)", MobileNetV3Config.TIMM_BN_EPS),
    /** Community implementations whose bottleneck is one {@code nn.Sequential conv}; plain nn.BatchNorm2d, so PyTorch's eps. */
    SEQUENTIAL("the sequential layout (features.N.conv.K.*)", 1e-5);

    private final String description;
    private final double defaultBnEps;

    CheckpointLayout(String description, double defaultBnEps) {
        this.description = description;
        this.defaultBnEps = defaultBnEps;
    }

    /** "torchvision", "timm" or "sequential" (any case). */
    public static CheckpointLayout parse(String s) {
        for (CheckpointLayout l : values()) {
            if (l.name().equalsIgnoreCase(s.trim())) return l;
        }
        throw new IllegalArgumentException("unknown weight names '" + s + "' (expected torchvision, timm or sequential)");
    }

    /** The BatchNorm eps of the code that writes checkpoints in this layout. */
    public double defaultBnEps() {
        return defaultBnEps;
    }

    /** E.g. {@code the sequential layout (features.N.conv.K.*)}. */
    public String describe() {
        return description;
    }

    /** "torchvision", "timm" or "sequential", as a table's {@code weight_names} says it. */
    public String lowerCase() {
        return name().toLowerCase(Locale.ROOT);
    }
}
