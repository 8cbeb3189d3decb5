// Depthwise k x k convolution with the folded BatchNorm bias and the activation fused in. cuDNN's
// grouped convolution is slow when groups == channels (the op is memory-bound, worst at small
// batch), so we own this one, in every precision:
//
//   mnv3_depthwise3 / 5 / mnv3_depthwise  FP32 / TF32, float NCHW: the window unrolled for k 3
//                                         and 5, or any k
//   mnv3_depthwise_<t>_v8_k3 / _k5 / _k0  FP16 / BF16, T NHWC (t = f16, bf16): 8 channels per
//   mnv3_depthwise_<t>_v1_k0              thread, or 1 when C is not a multiple of 8; they also
//                                         write the SE squeeze's partial sums when asked
//
// Launch notes are on each kernel.
#include "nhwc.cuh"

// ---- FP32 / TF32
//
// Launch notes: one thread per output element, 1-D grid-stride, blockDim 256,
// gridDim = LaunchGeometry.elementwise(N * C * OH * OW). x [N, C, H, W], w [C, 1, K, K],
// y [N, C, OH, OW]; zero padding `pad`, any stride and dilation. mnv3_depthwise3 and
// mnv3_depthwise5 unroll the window; mnv3_depthwise takes any k.

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

// ---- FP16 / BF16

// Threads per block of the depthwise kernel, and its reduction buffer (threads x V floats).
#define MNV3_DW_THREADS 256

// V adjacent floats of a weight row or the bias into registers: for V = 8 two 16-byte loads (the
// channel c and the row length C are multiples of 8 and WeightLayout aligns every array to 256
// bytes), else V scalar loads.
template <int V>
__device__ __forceinline__ void mnv3_dw_floats(const float* __restrict__ p, float (&out)[V]) {
    if constexpr (V % 4 == 0) {
#pragma unroll
        for (int q = 0; q < V / 4; q++) {
            const mnv3_pack<float, 4> f = mnv3_load<float, 4>(p + 4 * q);
#pragma unroll
            for (int v = 0; v < 4; v++) out[4 * q + v] = f.v[v];
        }
    } else {
#pragma unroll
        for (int v = 0; v < V; v++) out[v] = p[v];
    }
}

// Depthwise KxK conv + bias + act over NHWC, V channels per thread. w [K*K, C] float (tap-major,
// so a thread's V weights are adjacent), bias [C] float.
//
// Launch notes (LaunchGeometry.depthwiseNhwc): blockDim = (bx, by) with bx = min(C/V, 256)
// channel groups and by = 256 / bx pixel rows; gridDim = (1, chunks, N). Block (0, chunk, n)
// walks the pixels chunk*by + ty, stepping chunks*by, for every channel group tx, tx + bx, ...
// When partial is not null it also writes, per (n, chunk, c), the sum of the stored outputs over
// the block's pixels: partial [N, chunks, C], which mnv3_se_fc turns into the SE squeeze. That
// saves the squeeze a pass over the depthwise output. The reduction is deterministic (no atomics).
template <typename T, int V, int K>
__device__ __forceinline__ void depthwise_nhwc(const T* __restrict__ x, const float* __restrict__ w,
                                               const float* __restrict__ bias, T* __restrict__ y,
                                               float* __restrict__ partial, int channels, int height, int width,
                                               int out_h, int out_w, int k, int stride, int pad, int dilation,
                                               int act) {
    __shared__ float reduce[MNV3_DW_THREADS * V];
    const int kernel = K > 0 ? K : k;
    const int groups = channels / V;
    const int pixels = out_h * out_w;
    const long long n = blockIdx.z;
    const int tid = threadIdx.y * blockDim.x + threadIdx.x;
    for (int g0 = 0; g0 < groups; g0 += blockDim.x) {  // the same trip count in every thread of the block
        const int g = g0 + threadIdx.x;
        const bool active = g < groups;
        const int c = g * V;
        float sum[V];
#pragma unroll
        for (int v = 0; v < V; v++) sum[v] = 0.f;
        if (active) {
            for (int p = blockIdx.y * blockDim.y + threadIdx.y; p < pixels; p += gridDim.y * blockDim.y) {
                const int oy = p / out_w, ox = p % out_w;
                float acc[V];
                mnv3_dw_floats<V>(bias + c, acc);
#pragma unroll
                for (int ky = 0; ky < kernel; ky++) {
                    const int iy = oy * stride - pad + ky * dilation;
                    if (iy < 0 || iy >= height) continue;
#pragma unroll
                    for (int kx = 0; kx < kernel; kx++) {
                        const int ix = ox * stride - pad + kx * dilation;
                        if (ix < 0 || ix >= width) continue;
                        mnv3_pack<T, V> xv = mnv3_load<T, V>(x + ((n * height + iy) * width + ix) * channels + c);
                        float wt[V];
                        mnv3_dw_floats<V>(w + (ky * kernel + kx) * channels + c, wt);
#pragma unroll
                        for (int v = 0; v < V; v++) acc[v] = fmaf(mnv3_to_float(xv.v[v]), wt[v], acc[v]);
                    }
                }
                mnv3_pack<T, V> o;
#pragma unroll
                for (int v = 0; v < V; v++) {
                    o.v[v] = mnv3_from_float<T>(mnv3_activate(acc[v], act));
                    sum[v] += mnv3_to_float(o.v[v]);  // the value SE will scale, as stored
                }
                mnv3_store<T, V>(y + ((n * out_h + oy) * out_w + ox) * channels + c, o);
            }
        }
        if (partial != nullptr) {  // uniform across the block, so the barriers below are safe
            // value-major (reduce[v][tid]): a warp's 32 threads write 32 consecutive words, one bank
            // each (reduce[tid][v] would put 8 threads on each bank for V = 8)
#pragma unroll
            for (int v = 0; v < V; v++) reduce[v * MNV3_DW_THREADS + tid] = sum[v];
            __syncthreads();
            if (threadIdx.y == 0 && active) {
                float* out = partial + (n * gridDim.y + blockIdx.y) * channels + c;
#pragma unroll
                for (int v = 0; v < V; v++) {
                    float s = 0.f;
                    for (int r = 0; r < (int)blockDim.y; r++)
                        s += reduce[v * MNV3_DW_THREADS + r * blockDim.x + threadIdx.x];
                    out[v] = s;
                }
            }
            __syncthreads();  // the next channel pass reuses reduce
        }
    }
}

// mnv3_depthwise_<t>_<v8|v1>_k<3|5|0>: the window unrolled for 3 and 5; k0 takes any k.
#define MNV3_DEPTHWISE_NHWC_ENTRY(T, t, suffix, V, K)                                                                 \
    extern "C" __global__ void __launch_bounds__(MNV3_DW_THREADS) mnv3_depthwise_##t##_##suffix##_k##K(              \
        const T* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias, T* __restrict__ y,      \
        float* __restrict__ partial, int channels, int height, int width, int out_h, int out_w, int k, int stride,   \
        int pad, int dilation, int act) {                                                                             \
        depthwise_nhwc<T, V, K>(x, w, bias, y, partial, channels, height, width, out_h, out_w, k, stride, pad,       \
                                dilation, act);                                                                       \
    }

#define MNV3_DEPTHWISE_NHWC_ENTRIES(T, t)                                                                           \
    MNV3_DEPTHWISE_NHWC_ENTRY(T, t, v8, 8, 3)                                                                       \
    MNV3_DEPTHWISE_NHWC_ENTRY(T, t, v8, 8, 5)                                                                       \
    MNV3_DEPTHWISE_NHWC_ENTRY(T, t, v8, 8, 0)                                                                       \
    MNV3_DEPTHWISE_NHWC_ENTRY(T, t, v1, 1, 0)
MNV3_FOR_EACH_16BIT(MNV3_DEPTHWISE_NHWC_ENTRIES)
