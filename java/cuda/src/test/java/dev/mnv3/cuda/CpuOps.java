package dev.mnv3.cuda;

import dev.mnv3.core.Activation;

/**
 * The contract of each device step, written plainly on the CPU: the oracle for the kernel tests
 * on the GPU and for executing a {@link ForwardPlan} without one. Arrays are NCHW float32;
 * sums are in double, as in the CPU reference.
 */
final class CpuOps {
    private CpuOps() {
    }

    /** Grouped 2-D cross-correlation with zero padding, no bias: what cuDNN computes for us. */
    static float[] conv(float[] x, int n, int inC, int h, int w, float[] weight, int outC, int k, int stride, int pad,
                        int dilation, int groups) {
        int oh = (h + 2 * pad - dilation * (k - 1) - 1) / stride + 1, ow = (w + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
        int inPer = inC / groups, outPer = outC / groups;
        float[] y = new float[n * outC * oh * ow];
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < outC; o++) {
                int g = o / outPer;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        double acc = 0;
                        for (int ci = 0; ci < inPer; ci++) {
                            for (int ky = 0; ky < k; ky++) {
                                int iy = oy * stride - pad + ky * dilation;
                                if (iy < 0 || iy >= h) continue;
                                for (int kx = 0; kx < k; kx++) {
                                    int ix = ox * stride - pad + kx * dilation;
                                    if (ix < 0 || ix >= w) continue;
                                    acc += (double) x[((b * inC + g * inPer + ci) * h + iy) * w + ix]
                                            * weight[((o * inPer + ci) * k + ky) * k + kx];
                                }
                            }
                        }
                        y[((b * outC + o) * oh + oy) * ow + ox] = (float) acc;
                    }
                }
            }
        }
        return y;
    }

    /** mnv3_bias_act: y = act(y + bias[c]) (+ residual), in place on y[0 .. total). */
    static void biasAct(float[] y, float[] bias, float[] residual, int channels, int plane, int total, Activation act) {
        for (int i = 0; i < total; i++) {
            float v = act.apply(y[i] + bias[(i / plane) % channels]);
            y[i] = residual != null ? v + residual[i] : v;
        }
    }

    /** mnv3_depthwise: conv with groups == channels, then bias and activation. */
    static float[] depthwise(float[] x, int n, int c, int h, int w, float[] weight, float[] bias, int k, int stride, int pad,
                             int dilation, Activation act) {
        float[] y = conv(x, n, c, h, w, weight, c, k, stride, pad, dilation, c);
        biasAct(y, bias, null, c, y.length / (n * c), y.length, act);
        return y;
    }

    /** mnv3_global_avg_pool: the mean of each of {@code planes} consecutive runs of {@code plane} values. */
    static float[] pool(float[] x, int planes, int plane) {
        float[] y = new float[planes];
        for (int p = 0; p < planes; p++) {
            double s = 0;
            for (int i = 0; i < plane; i++) s += x[p * plane + i];
            y[p] = (float) (s / plane);
        }
        return y;
    }

    /** mnv3_linear: y [n, out] = act(x [n, in] W^T + b). */
    static float[] linear(float[] x, float[] w, float[] b, int n, int in, int out, Activation act) {
        float[] y = new float[n * out];
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < out; o++) {
                double acc = 0;
                for (int i = 0; i < in; i++) acc += (double) x[r * in + i] * w[o * in + i];
                y[r * out + o] = act.apply((float) (acc + b[o]));
            }
        }
        return y;
    }

    /** mnv3_channel_scale: x[i] *= scale[i / plane], in place on x[0 .. total). */
    static void channelScale(float[] x, float[] scale, int plane, int total) {
        for (int i = 0; i < total; i++) x[i] *= scale[i / plane];
    }
}
