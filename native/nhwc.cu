// The kernels of the FP16/BF16 path: NHWC activations in T (__half or __nv_bfloat16), float
// weights for everything cuDNN does not run, float accumulation, one rounding per stored value.
// cuDNN runs the dense convolutions (tensor cores, NHWC); these kernels do the rest:
//
//   mnv3_nchw_to_nhwc_*   the float NCHW input batch -> T NHWC, channels zero-padded (3 -> 8)
//   mnv3_se_fc            SE: mean of the partial sums -> fc1 + ReLU -> fc2 + hard-sigmoid
//   mnv3_channel_scale_*  the SE excitation x *= scale[n, c]
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

// Launch notes: one block of 256 threads per image, gridDim = N. partial [N, chunks, C] from the
// depthwise kernel; fc1 [S, C] + b1 [S], fc2 [C, S] + b2 [C] (PyTorch layouts); scale [N, C] float.
// C <= MNV3_SE_MAX_CHANNELS and S <= MNV3_SE_MAX_SQUEEZE. One warp per output row, lanes striding
// over the inputs, so weight reads are coalesced.
extern "C" __global__ void mnv3_se_fc(const float* __restrict__ partial, int chunks, int pixels,
                                      const float* __restrict__ w1, const float* __restrict__ b1,
                                      const float* __restrict__ w2, const float* __restrict__ b2,
                                      float* __restrict__ scale, int channels, int squeeze) {
    __shared__ float pooled[MNV3_SE_MAX_CHANNELS];
    __shared__ float hidden[MNV3_SE_MAX_SQUEEZE];
    const long long n = blockIdx.x;
    const float* part = partial + n * chunks * channels;
    for (int c = threadIdx.x; c < channels; c += blockDim.x) {
        float s = 0.f;
        for (int ch = 0; ch < chunks; ch++) s += part[(long long)ch * channels + c];
        pooled[c] = s / (float)pixels;
    }
    __syncthreads();
    const int warp = threadIdx.x / 32, lane = threadIdx.x & 31, warps = blockDim.x / 32;
    for (int o = warp; o < squeeze; o += warps) {  // whole warps iterate together: the shuffles see 32 lanes
        float acc = 0.f;
        for (int i = lane; i < channels; i += 32) acc = fmaf(w1[(long long)o * channels + i], pooled[i], acc);
        acc = mnv3_warp_sum(acc);
        if (lane == 0) hidden[o] = mnv3_activate(acc + b1[o], MNV3_RELU);
    }
    __syncthreads();
    for (int o = warp; o < channels; o += warps) {
        float acc = 0.f;
        for (int i = lane; i < squeeze; i += 32) acc = fmaf(w2[(long long)o * squeeze + i], hidden[i], acc);
        acc = mnv3_warp_sum(acc);
        if (lane == 0) scale[n * channels + o] = mnv3_activate(acc + b2[o], MNV3_HARDSIGMOID);
    }
}

// Launch notes: 1-D grid-stride over V-channel groups, blockDim 256,
// gridDim = LaunchGeometry.elementwise(groups), groups = N * plane * C / V. x [N, plane, C] T,
// scale [N, C] float; x[n, p, c] *= scale[n, c], in place.
template <typename T, int V>
__device__ __forceinline__ void channel_scale_nhwc(T* __restrict__ x, const float* __restrict__ scale, int channels,
                                                   int plane, long long groups) {
    MNV3_GRID_STRIDE(g, groups) {
        long long e = g * V;
        int c = (int)(e % channels);
        long long n = e / ((long long)plane * channels);
        const float* s = scale + n * channels + c;
        mnv3_pack<T, V> xv = mnv3_load<T, V>(x + e);
#pragma unroll
        for (int v = 0; v < V; v++) xv.v[v] = mnv3_from_float<T>(mnv3_to_float(xv.v[v]) * s[v]);
        mnv3_store<T, V>(x + e, xv);
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
    MNV3_SCALE_ENTRY(T, t, v8, 8)                                                                                     \
    MNV3_SCALE_ENTRY(T, t, v1, 1)                                                                                     \
    MNV3_POOL_ENTRY(T, T, t, v8, 8)                                                                                   \
    MNV3_POOL_ENTRY(T, T, t, v1, 1)                                                                                   \
    MNV3_POOL_ENTRY(T, float, t, f32, 1)

#define MNV3_SCALE_ENTRY(T, t, suffix, V)                                                                             \
    extern "C" __global__ void mnv3_channel_scale_##t##_##suffix(T* __restrict__ x, const float* __restrict__ scale, \
                                                                 int channels, int plane, long long groups) {         \
        channel_scale_nhwc<T, V>(x, scale, channels, plane, groups);                                                  \
    }

#define MNV3_POOL_ENTRY(T, TO, t, suffix, V)                                                                          \
    extern "C" __global__ void mnv3_global_avg_pool_nhwc_##t##_##suffix(const T* __restrict__ x, TO* __restrict__ y, \
                                                                        int channels, int plane, long long groups) {  \
        global_avg_pool_nhwc<T, TO, V>(x, y, channels, plane, groups);                                                \
    }

MNV3_NHWC_ENTRIES(__half, f16)
MNV3_NHWC_ENTRIES(__nv_bfloat16, bf16)
