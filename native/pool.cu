// Global average pool: the avgpool node before the classifier, and in FP32 / TF32 also the
// squeeze of squeeze-excitation.
//
//   mnv3_global_avg_pool                FP32 / TF32: float [planes, plane] -> [planes]
//   mnv3_global_avg_pool_nhwc_<t>_v8    FP16 / BF16 (t = f16, bf16): T NHWC -> T, 8 channels per
//   mnv3_global_avg_pool_nhwc_<t>_v1    thread, or 1 when C is not a multiple of 8
//   mnv3_global_avg_pool_nhwc_<t>_f32   T NHWC -> float, one channel per thread
#include "nhwc.cuh"

// ---- FP32 / TF32
//
// Launch notes: one warp per (n, c) plane, blockDim 256 (8 planes per block),
// gridDim = LaunchGeometry.warpPerRow(planes). x [planes, plane], y [planes]. A warp whose plane
// is past the end returns as a whole, so the shuffles below always see 32 active lanes.
extern "C" __global__ void mnv3_global_avg_pool(const float* __restrict__ x, float* __restrict__ y, int planes,
                                                int plane) {
    int warp = (int)(((long long)blockIdx.x * blockDim.x + threadIdx.x) / 32);
    int lane = threadIdx.x & 31;
    if (warp >= planes) return;
    const float* p = x + (long long)warp * plane;
    float sum = 0.f;
    for (int i = lane; i < plane; i += 32) sum += p[i];
    sum = mnv3_warp_sum(sum);
    if (lane == 0) y[warp] = sum / (float)plane;
}

// ---- FP16 / BF16

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

#define MNV3_POOL_ENTRY(T, TO, t, suffix, V)                                                                          \
    extern "C" __global__ void mnv3_global_avg_pool_nhwc_##t##_##suffix(const T* __restrict__ x, TO* __restrict__ y, \
                                                                        int channels, int plane, long long groups) {  \
        global_avg_pool_nhwc<T, TO, V>(x, y, channels, plane, groups);                                                \
    }

#define MNV3_POOL_ENTRIES(T, t)                                                                                       \
    MNV3_POOL_ENTRY(T, T, t, v8, 8)                                                                                   \
    MNV3_POOL_ENTRY(T, T, t, v1, 1)                                                                                   \
    MNV3_POOL_ENTRY(T, float, t, f32, 1)
MNV3_FOR_EACH_16BIT(MNV3_POOL_ENTRIES)
