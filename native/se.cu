// Squeeze-excitation: x[n, c, :, :] *= hard-sigmoid(fc2(relu(fc1(mean(x[n, c, :, :]))))). The
// last step, the channel scale, is skipped where the projection that follows applies the scale
// as it reads its input (the scale argument of mnv3_pointwise_*, pointwise.cu).
//
// FP32 / TF32, float NCHW: mnv3_global_avg_pool (the squeeze, pool.cu), mnv3_linear twice
// (fc1 + ReLU, fc2 + hard-sigmoid, linear.cu: one warp per output, so even batch 1 fills many
// SMs), then mnv3_channel_scale here.
//
// FP16 / BF16, T NHWC (t = f16, bf16): the depthwise kernel before SE has written the squeeze's
// partial sums (depthwise.cu); mnv3_se_fc turns them into the scale (mean, fc1 + ReLU, fc2 +
// hard-sigmoid, one block per image), then mnv3_channel_scale_<t>_v8/_v1.
#include "nhwc.cuh"

// ---- FP32 / TF32
//
// Launch notes: 1-D grid-stride, blockDim 256, gridDim = LaunchGeometry.elementwise(N * C * H * W);
// scale [N * C].
extern "C" __global__ void mnv3_channel_scale(float* __restrict__ x, const float* __restrict__ scale, int plane,
                                              long long total) {
    MNV3_GRID_STRIDE(i, total) {
        x[i] *= scale[i / plane];
    }
}

// ---- FP16 / BF16

// The largest SE block mnv3_se_fc holds in shared memory (ForwardPlan checks it on the host).
#define MNV3_SE_MAX_CHANNELS 4096
#define MNV3_SE_MAX_SQUEEZE 1024

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

#define MNV3_SCALE_ENTRY(T, t, suffix, V)                                                                             \
    extern "C" __global__ void mnv3_channel_scale_##t##_##suffix(T* __restrict__ x, const float* __restrict__ scale, \
                                                                 int channels, int plane, long long groups) {         \
        channel_scale_nhwc<T, V>(x, scale, channels, plane, groups);                                                  \
    }

#define MNV3_SCALE_ENTRIES(T, t) MNV3_SCALE_ENTRY(T, t, v8, 8) MNV3_SCALE_ENTRY(T, t, v1, 1)
MNV3_FOR_EACH_16BIT(MNV3_SCALE_ENTRIES)
