package dev.mnv3.core.backend;

import dev.mnv3.core.graph.SqueezeExcite;
import dev.mnv3.core.weights.Weights;

/**
 * The four arrays a squeeze-excitation module runs with, fc weights in PyTorch's [out][in]
 * order (a 1x1 conv kernel and a Linear weight hold the same numbers). A bias-free SE gets zero
 * biases here, so every backend runs one kind of SE whatever the checkpoint stored.
 */
public record SeWeights(SqueezeExcite se, float[] fc1Weight, float[] fc1Bias, float[] fc2Weight, float[] fc2Bias) {

    public static SeWeights of(SqueezeExcite se, Weights w) {
        String n = se.name();
        return new SeWeights(se, w.data(n + ".fc1.weight"), bias(se, w, n + ".fc1.bias", se.squeezeChannels()),
                w.data(n + ".fc2.weight"), bias(se, w, n + ".fc2.bias", se.channels()));
    }

    private static float[] bias(SqueezeExcite se, Weights w, String name, int size) {
        return se.bias() ? w.data(name) : new float[size];
    }
}
