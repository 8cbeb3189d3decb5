package dev.mnv3.core;

/**
 * One row of a MobileNetV3 bottleneck table, before the width multiplier is applied.
 *
 * <p>A bottleneck is: 1x1 expansion to {@code expSize} channels (+BN+act, omitted when the
 * expansion size equals the input channels) -> kxk depthwise (+BN+act) -> optional
 * squeeze-excitation -> 1x1 projection to {@code outChannels} (+BN, no activation) -> residual
 * add when the declared stride is 1 and the input and output widths match.
 *
 * @param kernel      depthwise kernel size (odd)
 * @param expSize     "exp size": channels of the expansion that feeds the depthwise conv
 * @param outChannels channels after the projection
 * @param se          whether a squeeze-excitation module follows the depthwise conv
 * @param activation  activation of the expansion and the depthwise conv (RELU or HARDSWISH)
 * @param stride      declared stride (1 or 2); a dilated block runs at stride 1
 * @param dilation    depthwise dilation (1, or 2 in the dilated tail)
 */
public record BottleneckSpec(int kernel, int expSize, int outChannels, boolean se,
                             Activation activation, int stride, int dilation) implements java.io.Serializable {
    /**
     * Limits far above any published MobileNetV3 (kernels 3-7, dilation 2, 960 channels) that keep
     * every size and count of a network within exact 64-bit arithmetic.
     */
    public static final int MAX_KERNEL = 31, MAX_DILATION = 16, MAX_CHANNELS = 1 << 16;

    public BottleneckSpec {
        if (kernel < 1 || kernel % 2 == 0 || kernel > MAX_KERNEL) {
            throw new IllegalArgumentException("bottleneck kernel must be odd, from 1 to " + MAX_KERNEL + ", got " + kernel);
        }
        if (expSize < 1 || outChannels < 1 || expSize > MAX_CHANNELS || outChannels > MAX_CHANNELS) {
            throw new IllegalArgumentException("bottleneck exp size and out channels must be from 1 to " + MAX_CHANNELS
                    + ", got exp " + expSize + ", out " + outChannels);
        }
        if (stride != 1 && stride != 2) {
            throw new IllegalArgumentException("bottleneck stride must be 1 or 2, got " + stride);
        }
        if (dilation < 1 || dilation > MAX_DILATION) {
            throw new IllegalArgumentException("bottleneck dilation must be from 1 to " + MAX_DILATION + ", got " + dilation);
        }
        if (activation == null) {
            throw new IllegalArgumentException("bottleneck activation is required");
        }
    }

    public BottleneckSpec(int kernel, int expSize, int outChannels, boolean se, Activation activation, int stride) {
        this(kernel, expSize, outChannels, se, activation, stride, 1);
    }

    /** The stride the depthwise conv actually runs at: torchvision turns stride 2 into 1 when dilated. */
    public int effectiveStride() {
        return dilation > 1 ? 1 : stride;
    }

    BottleneckSpec withDilation(int d) {
        return new BottleneckSpec(kernel, expSize, outChannels, se, activation, stride, d);
    }

    BottleneckSpec reduced(boolean alsoExpansion) {
        return new BottleneckSpec(kernel, alsoExpansion ? expSize / 2 : expSize, outChannels / 2, se, activation, stride, dilation);
    }

    BottleneckSpec minimal() {
        return new BottleneckSpec(3, expSize, outChannels, false, Activation.RELU, stride, dilation);
    }
}
