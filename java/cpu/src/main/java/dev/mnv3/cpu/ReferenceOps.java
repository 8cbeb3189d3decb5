package dev.mnv3.cpu;

import dev.mnv3.core.Activation;
import dev.mnv3.core.backend.FoldedConv;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.tensor.Tensor;

/**
 * The plain reference implementation of every op, NCHW float32 with double accumulation. Written
 * for obviousness, not speed: this is the oracle the fast paths and the GPU are checked against.
 */
final class ReferenceOps {
    private ReferenceOps() {
    }

    /** Grouped 2-D convolution with zero padding, + bias + activation. */
    static Tensor conv(Tensor x, FoldedConv f) {
        ConvBnAct c = f.conv();
        int n = x.dim(0), inC = x.dim(1), h = x.dim(2), w = x.dim(3);
        int outC = c.outChannels(), k = c.kernel(), s = c.stride(), d = c.dilation(), pad = c.padding();
        int oh = c.outputSize(h), ow = c.outputSize(w);
        int inPerGroup = inC / c.groups(), outPerGroup = outC / c.groups();
        float[] in = x.data(), wt = f.weight(), bias = f.bias();
        Tensor y = Tensor.zeros(n, outC, oh, ow);
        float[] out = y.data();
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < outC; o++) {
                int g = o / outPerGroup;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        double acc = bias[o];
                        for (int ci = 0; ci < inPerGroup; ci++) {
                            int cin = g * inPerGroup + ci;
                            for (int ky = 0; ky < k; ky++) {
                                int iy = oy * s - pad + ky * d;
                                if (iy < 0 || iy >= h) continue;
                                for (int kx = 0; kx < k; kx++) {
                                    int ix = ox * s - pad + kx * d;
                                    if (ix < 0 || ix >= w) continue;
                                    acc += (double) in[((b * inC + cin) * h + iy) * w + ix]
                                            * wt[((o * inPerGroup + ci) * k + ky) * k + kx];
                                }
                            }
                        }
                        out[((b * outC + o) * oh + oy) * ow + ox] = c.activation().apply((float) acc);
                    }
                }
            }
        }
        return y;
    }

    /** Squeeze-excitation in place: x *= hsigmoid(fc2(relu(fc1(mean(x))))). */
    static void squeezeExcite(Tensor x, float[] w1, float[] b1, float[] w2, float[] b2) {
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3), sq = b1.length;
        float[] d = x.data();
        for (int b = 0; b < n; b++) {
            float[] pooled = new float[c];
            for (int ch = 0; ch < c; ch++) pooled[ch] = mean(d, (b * c + ch) * hw, hw);
            float[] hidden = dense(pooled, w1, b1, sq, Activation.RELU);
            float[] scale = dense(hidden, w2, b2, c, Activation.HARDSIGMOID);
            for (int ch = 0; ch < c; ch++) {
                int base = (b * c + ch) * hw;
                for (int i = 0; i < hw; i++) d[base + i] *= scale[ch];
            }
        }
    }

    static void addInPlace(Tensor y, Tensor x) {
        float[] a = y.data(), b = x.data();
        for (int i = 0; i < a.length; i++) a[i] += b[i];
    }

    /** [N, C, H, W] -> [N, C, 1, 1]. */
    static Tensor globalAvgPool(Tensor x) {
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        Tensor y = Tensor.zeros(n, c, 1, 1);
        for (int i = 0; i < n * c; i++) y.data()[i] = mean(x.data(), i * hw, hw);
        return y;
    }

    /** Rows of x (flattened per image) through y = act(W x + b), W [out, in]. */
    static Tensor linear(Tensor x, float[] w, float[] b, Activation act) {
        int n = x.dim(0), in = x.size() / n, out = b.length;
        Tensor y = Tensor.zeros(n, out);
        for (int i = 0; i < n; i++) {
            float[] row = java.util.Arrays.copyOfRange(x.data(), i * in, (i + 1) * in);
            System.arraycopy(dense(row, w, b, out, act), 0, y.data(), i * out, out);
        }
        return y;
    }

    private static float[] dense(float[] x, float[] w, float[] b, int out, Activation act) {
        int in = x.length;
        float[] y = new float[out];
        for (int o = 0; o < out; o++) {
            double acc = b[o];
            for (int i = 0; i < in; i++) acc += (double) w[o * in + i] * x[i];
            y[o] = act.apply((float) acc);
        }
        return y;
    }

    private static float mean(float[] d, int from, int len) {
        double s = 0;
        for (int i = 0; i < len; i++) s += d[from + i];
        return (float) (s / len);
    }
}
