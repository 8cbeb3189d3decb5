package dev.mnv3.core.graph;

import java.util.List;

/**
 * Squeeze-excitation as torchvision builds it: global average pool -> 1x1 conv {@code fc1}
 * (with bias) -> ReLU -> 1x1 conv {@code fc2} (with bias) -> hard-sigmoid -> channel scale.
 */
public record SqueezeExcite(String name, int channels, int squeezeChannels) {

    public List<ParamSpec> parameters() {
        return List.of(
                new ParamSpec(name + ".fc1.weight", new int[] {squeezeChannels, channels, 1, 1}, true),
                new ParamSpec(name + ".fc1.bias", new int[] {squeezeChannels}, true),
                new ParamSpec(name + ".fc2.weight", new int[] {channels, squeezeChannels, 1, 1}, true),
                new ParamSpec(name + ".fc2.bias", new int[] {channels}, true));
    }

    /** The two FCs plus the channel scale over the feature map. */
    public long macs(Shape input) {
        return 2L * channels * squeezeChannels + input.size();
    }
}
