// The stem: a dense k x k convolution + bias + act reading the float NCHW input batch (in
// MobileNetV3: 3 -> 16 channels, 3x3, stride 2), so no precision needs cuDNN for it.
//
//   mnv3_conv_f32       FP32 / TF32: y float NCHW
//   mnv3_stem_<t>_v8    FP16 / BF16: y T NHWC (t = f16, bf16), 8 output channels per thread
//   mnv3_stem_<t>_v1    the same for any other output channel count, one per thread
//
// w [Cout, Cin, K, K] float (PyTorch's layout, BatchNorm folded). Both sum onto the bias in the
// order ci, ky, kx (mnv3_conv_window), so they differ only in where and how they store.
#include "nhwc.cuh"

// The window of a dense k x k convolution at output pixel (oy, ox), added to acc[v] for V output
// channels in the order ci, ky, kx (fmaf each), taps in the zero padding skipped. x_n: one image
// [in_channels, height, width]; w: the first channel's filter [in_channels, k, k], the others
// following at w_step floats each (PyTorch's [out, in, k, k] layout: w_step = in_channels * k * k).
template <int V>
__device__ __forceinline__ void mnv3_conv_window(float (&acc)[V], const float* __restrict__ x_n,
                                                 const float* __restrict__ w, long long w_step, int in_channels,
                                                 int height, int width, int k, int stride, int pad, int dilation,
                                                 int oy, int ox) {
    for (int ci = 0; ci < in_channels; ci++) {
        const float* xp = x_n + (long long)ci * height * width;
        for (int ky = 0; ky < k; ky++) {
            const int iy = oy * stride - pad + ky * dilation;
            if (iy < 0 || iy >= height) continue;
            for (int kx = 0; kx < k; kx++) {
                const int ix = ox * stride - pad + kx * dilation;
                if (ix < 0 || ix >= width) continue;
                const float xv = xp[(long long)iy * width + ix];
                const float* wp = w + ((long long)ci * k + ky) * k + kx;
#pragma unroll
                for (int v = 0; v < V; v++) acc[v] = fmaf(xv, wp[v * w_step], acc[v]);
            }
        }
    }
}

// ---- FP32 / TF32

// Launch notes: one output element per thread, 1-D grid-stride, blockDim 256,
// gridDim = LaunchGeometry.elementwise(total), total = N * out_channels * out_h * out_w.
// x [N, in_channels, height, width], w [out_channels, in_channels, k, k] (PyTorch's layout),
// y [N, out_channels, out_h, out_w]; zero padding `pad`, any stride and dilation. Sums onto the
// bias in the order ci, ky, kx, as the FP16/BF16 stem does. Threads of a warp share the output
// channel (but at the end of a plane), so their weight reads are one broadcast.
extern "C" __global__ void mnv3_conv_f32(const float* __restrict__ x, const float* __restrict__ w,
                                         const float* __restrict__ bias, float* __restrict__ y, int in_channels,
                                         int height, int width, int out_channels, int out_h, int out_w, int k,
                                         int stride, int pad, int dilation, int act, long long total) {
    MNV3_GRID_STRIDE(i, total) {
        const int ox = (int)(i % out_w);
        long long t = i / out_w;
        const int oy = (int)(t % out_h);
        t /= out_h;
        const int co = (int)(t % out_channels);
        const long long n = t / out_channels;
        float acc[1] = {bias[co]};
        mnv3_conv_window<1>(acc, x + n * in_channels * height * width, w + (long long)co * in_channels * k * k, 0,
                            in_channels, height, width, k, stride, pad, dilation, oy, ox);
        y[i] = mnv3_activate(acc[0], act);
    }
}

// ---- FP16 / BF16

// Writing T NHWC straight from the float input, the input is neither converted in a pass of its
// own nor rounded before the first layer, and the conv's raw output is never stored.
//
// Launch notes: 1-D grid-stride over (pixel, V-channel group), blockDim 256,
// gridDim = LaunchGeometry.elementwise(groups), groups = N * OH * OW * Cout / V. Consecutive
// threads take consecutive channel groups of one pixel: the input reads are shared through L1.
template <typename T, int V>
__device__ __forceinline__ void stem_nhwc(const float* __restrict__ x, const float* __restrict__ w,
                                          const float* __restrict__ bias, T* __restrict__ y, int in_channels,
                                          int height, int width, int out_channels, int out_h, int out_w, int k,
                                          int stride, int pad, int dilation, int act, long long groups) {
    const int per_pixel = out_channels / V;
    MNV3_GRID_STRIDE(g, groups) {
        const int c = (int)(g % per_pixel) * V;
        const long long p = g / per_pixel;
        const int ox = (int)(p % out_w), oy = (int)(p / out_w % out_h);
        const long long n = p / ((long long)out_w * out_h);
        float acc[V];
#pragma unroll
        for (int v = 0; v < V; v++) acc[v] = bias[c + v];
        mnv3_conv_window<V>(acc, x + n * in_channels * height * width, w + (long long)c * in_channels * k * k,
                            (long long)in_channels * k * k, in_channels, height, width, k, stride, pad, dilation, oy,
                            ox);
        mnv3_pack<T, V> o;
#pragma unroll
        for (int v = 0; v < V; v++) o.v[v] = mnv3_from_float<T>(mnv3_activate(acc[v], act));
        mnv3_store<T, V>(y + p * out_channels + c, o);
    }
}

#define MNV3_STEM_ENTRY(T, t, suffix, V)                                                                              \
    extern "C" __global__ void mnv3_stem_##t##_##suffix(                                                              \
        const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias, T* __restrict__ y,  \
        int in_channels, int height, int width, int out_channels, int out_h, int out_w, int k, int stride, int pad,   \
        int dilation, int act, long long groups) {                                                                    \
        stem_nhwc<T, V>(x, w, bias, y, in_channels, height, width, out_channels, out_h, out_w, k, stride, pad,       \
                        dilation, act, groups);                                                                       \
    }

#define MNV3_STEM_ENTRIES(T, t) MNV3_STEM_ENTRY(T, t, v8, 8) MNV3_STEM_ENTRY(T, t, v1, 1)
MNV3_FOR_EACH_16BIT(MNV3_STEM_ENTRIES)
