package dev.mnv3.core.graph;

import dev.mnv3.core.SqueezeExciteSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * Squeeze-excitation: global average pool -> {@code fc1} -> ReLU -> {@code fc2} -> hard-sigmoid
 * -> channel scale. The FCs are 1x1 convs (weights [out, in, 1, 1], torchvision) or Linear
 * layers (weights [out, in]); the same numbers either way. Without {@code bias} the FCs have
 * none, and the weights hold no bias tensors.
 */
public record SqueezeExcite(String name, int channels, int squeezeChannels, SqueezeExciteSpec.Layer layer, boolean bias) {

    /** torchvision's SE: 1x1 convs with bias. */
    public SqueezeExcite(String name, int channels, int squeezeChannels) {
        this(name, channels, squeezeChannels, SqueezeExciteSpec.Layer.CONV, true);
    }

    public List<ParamSpec> parameters() {
        List<ParamSpec> p = new ArrayList<>(4);
        p.add(new ParamSpec(name + ".fc1.weight", weightShape(squeezeChannels, channels), true));
        if (bias) p.add(new ParamSpec(name + ".fc1.bias", new int[] {squeezeChannels}, true));
        p.add(new ParamSpec(name + ".fc2.weight", weightShape(channels, squeezeChannels), true));
        if (bias) p.add(new ParamSpec(name + ".fc2.bias", new int[] {channels}, true));
        return p;
    }

    private int[] weightShape(int out, int in) {
        return layer == SqueezeExciteSpec.Layer.CONV ? new int[] {out, in, 1, 1} : new int[] {out, in};
    }

    /** The two FCs plus the channel scale over the feature map. */
    public long macs(Shape input) {
        return 2L * channels * squeezeChannels + input.size();
    }
}
