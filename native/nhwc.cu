// The kernels of the FP16/BF16 path: NHWC activations in T (__half or __nv_bfloat16), float
// weights for everything cuDNN does not run, float accumulation, one rounding per stored value.
// cuDNN runs the dense convolutions (tensor cores, NHWC); these kernels do the rest:
//
//   mnv3_nchw_to_nhwc_*   the float NCHW input batch -> T NHWC, channels zero-padded (3 -> 8)
//   mnv3_global_avg_pool_nhwc_*  the avgpool node
//
// Entry names end in the storage type (f16, bf16) and, where channels are moved eight at a time,
// _v8 (every channel count a multiple of 8) or _v1 (any other). Launch notes are on each kernel.
#include "nhwc.cuh"

// Launch notes: 1-D grid-stride, blockDim 256, gridDim = LaunchGeometry.elementwise(total),
// total = N * H * W * padded. x [N, channels, H, W] float; y [N, H, W, padded] T.
template <typename T>
__device__ __forceinline__ void nchw_to_nhwc(const float* __restrict__ x, T* __restrict__ y, int channels,
                                             int padded, int plane, long long total) {
    MNV3_GRID_STRIDE(i, total) {
        int c = (int)(i % padded);
        long long t = i / padded;
        int p = (int)(t % plane);
        long long n = t / plane;
        y[i] = mnv3_from_float<T>(c < channels ? x[(n * channels + c) * plane + p] : 0.f);
    }
}

// Launch notes: 1-D grid-stride over (n, V-channel group), blockDim 256,
// gridDim = LaunchGeometry.elementwise(groups), groups = N * C / V. x [N, plane, C] T ->
// y [N, C] TO (T when the classifier follows on cuDNN, float when the pool is the output).
// Neighbouring threads read neighbouring channels of the same pixel: coalesced.
template <typename T, typename TO, int V>
__device__ __forceinline__ void global_avg_pool_nhwc(const T* __restrict__ x, TO* __restrict__ y, int channels,
                                                     int plane, long long groups) {
    MNV3_GRID_STRIDE(g, groups) {
        long long e = g * V;  // = n * channels + c
        int c = (int)(e % channels);
        long long n = e / channels;
        float sum[V];
#pragma unroll
        for (int v = 0; v < V; v++) sum[v] = 0.f;
        for (int p = 0; p < plane; p++) {
            mnv3_pack<T, V> xv = mnv3_load<T, V>(x + (n * plane + p) * channels + c);
#pragma unroll
            for (int v = 0; v < V; v++) sum[v] += mnv3_to_float(xv.v[v]);
        }
        mnv3_pack<TO, V> o;
#pragma unroll
        for (int v = 0; v < V; v++) o.v[v] = mnv3_from_float<TO>(sum[v] / (float)plane);
        mnv3_store<TO, V>(y + e, o);
    }
}

// ---- the entry points Java looks up by name (dev.mnv3.cuda.Kernels)

#define MNV3_NHWC_ENTRIES(T, t)                                                                                       \
    extern "C" __global__ void mnv3_nchw_to_nhwc_##t(const float* __restrict__ x, T* __restrict__ y, int channels,   \
                                                     int padded, int plane, long long total) {                       \
        nchw_to_nhwc<T>(x, y, channels, padded, plane, total);                                                      \
    }                                                                                                                 \
    MNV3_POOL_ENTRY(T, T, t, v8, 8)                                                                                   \
    MNV3_POOL_ENTRY(T, T, t, v1, 1)                                                                                   \
    MNV3_POOL_ENTRY(T, float, t, f32, 1)

#define MNV3_POOL_ENTRY(T, TO, t, suffix, V)                                                                          \
    extern "C" __global__ void mnv3_global_avg_pool_nhwc_##t##_##suffix(const T* __restrict__ x, TO* __restrict__ y, \
                                                                        int channels, int plane, long long groups) {  \
        global_avg_pool_nhwc<T, TO, V>(x, y, channels, plane, groups);                                                \
    }

MNV3_NHWC_ENTRIES(__half, f16)
MNV3_NHWC_ENTRIES(__nv_bfloat16, bf16)
