// Depthwise KxK convolution with the folded BatchNorm bias and the activation fused in.
//
// Launch notes: one thread per output element, 1-D grid-stride, blockDim 256,
// gridDim = LaunchGeometry.elementwise(N * C * OH * OW). x [N, C, H, W], w [C, 1, K, K],
// y [N, C, OH, OW]; zero padding `pad`, any stride and dilation. cuDNN's grouped convolution is
// slow when groups == channels (the op is memory-bound, worst at small batch), so we own this
// one. mnv3_depthwise3 and mnv3_depthwise5 unroll the window; mnv3_depthwise takes any k.
#include "common.cuh"

// K > 0: the window size is a compile-time constant and the loops unroll; K == 0: it is k.
template <int K>
__device__ __forceinline__ void depthwise(const float* __restrict__ x, const float* __restrict__ w,
                                          const float* __restrict__ bias, float* __restrict__ y, int channels,
                                          int height, int width, int out_h, int out_w, int k, int stride, int pad,
                                          int dilation, int act, long long total) {
    const int kernel = K > 0 ? K : k;
    MNV3_GRID_STRIDE(i, total) {
        int ox = (int)(i % out_w);
        long long t = i / out_w;
        int oy = (int)(t % out_h);
        long long plane = t / out_h;  // n * C + c
        int c = (int)(plane % channels);
        const float* xp = x + plane * height * width;
        const float* wp = w + c * kernel * kernel;
        float acc = bias[c];
#pragma unroll
        for (int ky = 0; ky < kernel; ky++) {
            int iy = oy * stride - pad + ky * dilation;
            if (iy < 0 || iy >= height) continue;
#pragma unroll
            for (int kx = 0; kx < kernel; kx++) {
                int ix = ox * stride - pad + kx * dilation;
                if (ix < 0 || ix >= width) continue;
                acc = fmaf(xp[iy * width + ix], wp[ky * kernel + kx], acc);
            }
        }
        y[i] = mnv3_activate(acc, act);
    }
}

#define MNV3_DEPTHWISE_ENTRY(name, K)                                                                        \
    extern "C" __global__ void name(const float* __restrict__ x, const float* __restrict__ w,               \
                                    const float* __restrict__ bias, float* __restrict__ y, int channels,    \
                                    int height, int width, int out_h, int out_w, int k, int stride, int pad, \
                                    int dilation, int act, long long total) {                               \
        depthwise<K>(x, w, bias, y, channels, height, width, out_h, out_w, k, stride, pad, dilation, act,    \
                     total);                                                                                 \
    }

MNV3_DEPTHWISE_ENTRY(mnv3_depthwise, 0)
MNV3_DEPTHWISE_ENTRY(mnv3_depthwise3, 3)
MNV3_DEPTHWISE_ENTRY(mnv3_depthwise5, 5)
