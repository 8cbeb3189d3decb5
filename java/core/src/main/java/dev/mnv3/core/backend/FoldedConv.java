package dev.mnv3.core.backend;

import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.weights.Weights;

/**
 * A convolution with its BatchNorm folded in: w' = w * gamma / sqrt(var + eps),
 * b' = beta - mean * gamma / sqrt(var + eps). Folding happens once at compile time, in double
 * precision, so inference is conv + bias + activation. Weights keep PyTorch's
 * [out, in/groups, k, k] layout.
 */
public record FoldedConv(ConvBnAct conv, float[] weight, float[] bias) {

    public static FoldedConv fold(ConvBnAct conv, Weights w, double eps) {
        float[] kernel = w.data(conv.weightName());
        String bn = conv.bnPrefix();
        float[] gamma = w.data(bn + ".weight"), beta = w.data(bn + ".bias");
        float[] mean = w.data(bn + ".running_mean"), var = w.data(bn + ".running_var");
        int out = conv.outChannels();
        int per = kernel.length / out;
        float[] weight = new float[kernel.length];
        float[] bias = new float[out];
        for (int o = 0; o < out; o++) {
            double scale = gamma[o] / Math.sqrt((double) var[o] + eps);
            for (int i = 0; i < per; i++) weight[o * per + i] = (float) (kernel[o * per + i] * scale);
            bias[o] = (float) (beta[o] - mean[o] * scale);
        }
        return new FoldedConv(conv, weight, bias);
    }
}
