package dev.mnv3.cuda;

import dev.mnv3.core.Activation;
import dev.mnv3.cuda.plan.Layouts;
import dev.mnv3.cuda.plan.StorageType;

/**
 * The contract of each FP16/BF16 device step (native/*.cu's _f16/_bf16 kernels, cuDNN's NHWC convolutions),
 * written plainly on the CPU over NHWC float arrays: the oracle for executing an NHWC
 * {@link ForwardPlan} without a GPU. Rounding to the storage type is the caller's, at the points
 * where the device stores; sums are in double.
 */
final class NhwcOps {
    private NhwcOps() {
    }

    /** mnv3_nchw_to_nhwc: x [n, c, plane] -> [n, plane, padded], zero past c. */
    static float[] toNhwc(float[] x, int n, int c, int padded, int plane) {
        return Layouts.channelsLast(x, n, c, padded, plane);
    }

    /** cuDNN's NHWC cross-correlation: x [n, h, w, inC], weight [outC, k, k, inC / groups], no bias. */
    static float[] conv(float[] x, int n, int inC, int h, int w, float[] weight, int outC, int k, int stride, int pad,
                        int dilation, int groups) {
        int oh = outSize(h, k, stride, pad, dilation), ow = outSize(w, k, stride, pad, dilation);
        int inPer = inC / groups, outPer = outC / groups;
        float[] y = new float[n * oh * ow * outC];
        for (int b = 0; b < n; b++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    for (int o = 0; o < outC; o++) {
                        int g = o / outPer;
                        double acc = 0;
                        for (int ky = 0; ky < k; ky++) {
                            int iy = oy * stride - pad + ky * dilation;
                            if (iy < 0 || iy >= h) continue;
                            for (int kx = 0; kx < k; kx++) {
                                int ix = ox * stride - pad + kx * dilation;
                                if (ix < 0 || ix >= w) continue;
                                int xi = ((b * h + iy) * w + ix) * inC + g * inPer, wi = ((o * k + ky) * k + kx) * inPer;
                                for (int ci = 0; ci < inPer; ci++) acc += (double) x[xi + ci] * weight[wi + ci];
                            }
                        }
                        y[((b * oh + oy) * ow + ox) * outC + o] = (float) acc;
                    }
                }
            }
        }
        return y;
    }

    /** mnv3_bias_act_*: act(x + bias[c]) (+ residual), NHWC so c = i % channels. Unrounded. */
    static float[] biasAct(float[] x, float[] bias, float[] residual, int channels, Activation act) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            float v = act.apply(x[i] + bias[i % channels]);
            y[i] = residual != null ? v + residual[i] : v;
        }
        return y;
    }

    /**
     * mnv3_depthwise_*: x [n, h, w, c], weight tap-major [k * k, c]; the output is rounded by
     * {@code storage} as the kernel stores it. When {@code partial} is not null it receives the
     * kernel's SE partial sums [n, chunks, c] of the stored outputs: pixel p of an image belongs to
     * chunk (p / rows) % chunks, rows being the block's pixel rows.
     */
    static float[] depthwise(float[] x, int n, int c, int h, int w, float[] weight, float[] bias, int k, int stride, int pad,
                             int dilation, Activation act, StorageType storage, float[] partial, int chunks, int rows) {
        int oh = outSize(h, k, stride, pad, dilation), ow = outSize(w, k, stride, pad, dilation);
        float[] y = new float[n * oh * ow * c];
        if (partial != null) java.util.Arrays.fill(partial, 0, n * chunks * c, 0f);
        for (int b = 0; b < n; b++) {
            for (int p = 0; p < oh * ow; p++) {
                int oy = p / ow, ox = p % ow;
                for (int ch = 0; ch < c; ch++) {
                    double acc = bias[ch];
                    for (int ky = 0; ky < k; ky++) {
                        int iy = oy * stride - pad + ky * dilation;
                        if (iy < 0 || iy >= h) continue;
                        for (int kx = 0; kx < k; kx++) {
                            int ix = ox * stride - pad + kx * dilation;
                            if (ix < 0 || ix >= w) continue;
                            acc += (double) x[((b * h + iy) * w + ix) * c + ch] * weight[(ky * k + kx) * c + ch];
                        }
                    }
                    float v = storage.round(act.apply((float) acc));
                    y[(b * oh * ow + p) * c + ch] = v;
                    if (partial != null) partial[(b * chunks + (p / rows) % chunks) * c + ch] += v;
                }
            }
        }
        return y;
    }

    /** mnv3_se_fc: partial [n, chunks, c] -> mean -> fc1 + ReLU -> fc2 + hard-sigmoid, [n, c] float. */
    static float[] seFc(float[] partial, int n, int chunks, int pixels, float[] w1, float[] b1, float[] w2, float[] b2,
                        int c, int squeeze) {
        float[] scale = new float[n * c];
        for (int b = 0; b < n; b++) {
            float[] pooled = new float[c];
            for (int ch = 0; ch < c; ch++) {
                double s = 0;
                for (int k = 0; k < chunks; k++) s += partial[(b * chunks + k) * c + ch];
                pooled[ch] = (float) (s / pixels);
            }
            float[] hidden = CpuOps.linear(pooled, w1, b1, 1, c, squeeze, Activation.RELU);
            System.arraycopy(CpuOps.linear(hidden, w2, b2, 1, squeeze, c, Activation.HARDSIGMOID), 0, scale, b * c, c);
        }
        return scale;
    }

    /** mnv3_channel_scale_*: x [n, plane, c] * scale [n, c]. Unrounded. */
    static float[] channelScale(float[] x, float[] scale, int c, int plane) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i] * scale[i / (plane * c) * c + i % c];
        return y;
    }

    /** mnv3_global_avg_pool_nhwc_*: x [n, plane, c] -> [n, c]. Unrounded. */
    static float[] pool(float[] x, int n, int c, int plane) {
        float[] y = new float[n * c];
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                double s = 0;
                for (int p = 0; p < plane; p++) s += x[(b * plane + p) * c + ch];
                y[b * c + ch] = (float) (s / plane);
            }
        }
        return y;
    }

    private static int outSize(int in, int k, int stride, int pad, int dilation) {
        return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
    }
}
