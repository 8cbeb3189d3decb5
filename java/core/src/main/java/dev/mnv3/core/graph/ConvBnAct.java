package dev.mnv3.core.graph;

import dev.mnv3.core.Activation;
import java.util.ArrayList;
import java.util.List;

/**
 * Conv2d (no bias) + BatchNorm + activation, torchvision's Conv2dNormActivation: weights at
 * {@code name.0.weight} and {@code name.1.{weight,bias,running_mean,running_var}}. Padding is
 * "same" for odd kernels: (k-1)/2 * dilation. Groups equal to the channels make it depthwise.
 */
public record ConvBnAct(String name, int inChannels, int outChannels, int kernel, int stride, int dilation,
                        int groups, Activation activation) implements Node {

    public ConvBnAct {
        if (inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException(name + ": channels " + inChannels + "->" + outChannels + " not divisible by groups " + groups);
        }
    }

    public static ConvBnAct pointwise(String name, int in, int out, Activation act) {
        return new ConvBnAct(name, in, out, 1, 1, 1, 1, act);
    }

    public int padding() {
        return (kernel - 1) / 2 * dilation;
    }

    public boolean isDepthwise() {
        return groups == inChannels && groups == outChannels && groups > 1;
    }

    public boolean isPointwise() {
        return kernel == 1 && stride == 1 && groups == 1;
    }

    public String weightName() {
        return name + ".0.weight";
    }

    /** Name prefix of the BatchNorm tensors ({@code .weight}, {@code .bias}, {@code .running_mean}, {@code .running_var}). */
    public String bnPrefix() {
        return name + ".1";
    }

    public int outputSize(int in) {
        return (in + 2 * padding() - dilation * (kernel - 1) - 1) / stride + 1;
    }

    @Override
    public String op() {
        String kind = isDepthwise() ? "dwconv" : "conv";
        String s = kind + kernel + "x" + kernel + (stride > 1 ? "/" + stride : "") + (dilation > 1 ? " d" + dilation : "");
        return activation == Activation.IDENTITY ? s : s + " " + activation.shortName();
    }

    @Override
    public Shape outputShape(Shape input) {
        Node.expectChannels(this, input, inChannels);
        return new Shape(outChannels, outputSize(input.height()), outputSize(input.width()));
    }

    @Override
    public List<ParamSpec> parameters() {
        List<ParamSpec> p = new ArrayList<>(5);
        p.add(new ParamSpec(weightName(), new int[] {outChannels, inChannels / groups, kernel, kernel}, true));
        String bn = bnPrefix();
        p.add(new ParamSpec(bn + ".weight", new int[] {outChannels}, true));
        p.add(new ParamSpec(bn + ".bias", new int[] {outChannels}, true));
        p.add(new ParamSpec(bn + ".running_mean", new int[] {outChannels}, false));
        p.add(new ParamSpec(bn + ".running_var", new int[] {outChannels}, false));
        return p;
    }

    @Override
    public long macs(Shape input) {
        Shape o = outputShape(input);
        long perPixel = (long) outChannels * (inChannels / groups) * kernel * kernel; // < 2^19 * 2^19 * 2^10
        return Math.multiplyExact((long) o.height() * o.width(), perPixel);
    }
}
