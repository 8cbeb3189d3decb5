// Bias + activation (+ residual): the epilogue of the convolutions cuDNN runs, whose raw output
// it reads back, and the logits of the FP16/BF16 classifier.
//
//   mnv3_bias_act          FP32 / TF32, float NCHW, in place
//   mnv3_bias_act_<t>_v8   FP16 / BF16, T NHWC (t = f16, bf16), in place or not: 8 channels per
//   mnv3_bias_act_<t>_v1   thread, or 1 when C is not a multiple of 8
//   mnv3_bias_act_<t>_f32  the same from T to float, one channel per thread (the logits)
//
// The residual add of a bottleneck comes after the activation and costs no extra pass over memory.
#include "nhwc.cuh"

// ---- FP32 / TF32
//
// Launch notes: 1-D grid-stride, blockDim 256, gridDim = LaunchGeometry.elementwise(total).
// y [N, C, H, W] is updated in place: y = act(y + bias[c]) (+ residual). residual may be null; it
// never aliases y.
extern "C" __global__ void mnv3_bias_act(float* __restrict__ y, const float* __restrict__ bias,
                                         const float* __restrict__ residual, int channels, int plane,
                                         long long total, int act) {
    MNV3_GRID_STRIDE(i, total) {
        int c = (int)((i / plane) % channels);
        float v = mnv3_activate(y[i] + bias[c], act);
        if (residual != nullptr) v += residual[i];
        y[i] = v;
    }
}

// ---- FP16 / BF16

// Launch notes: 1-D grid-stride over V-channel groups, blockDim 256,
// gridDim = LaunchGeometry.elementwise(groups), groups = N * H * W * channels / V.
// out = act(x + bias[c]) (+ residual); x and out may be the same buffer (in place); residual may be
// null and never aliases out. TO is T, or float for the logits.
template <typename T, typename TO, int V>
__device__ __forceinline__ void bias_act_nhwc(const T* x, TO* out, const float* __restrict__ bias,
                                              const T* __restrict__ residual, int channels, long long groups,
                                              int act) {
    MNV3_GRID_STRIDE(g, groups) {
        long long e = g * V;
        int c = (int)(e % channels);
        mnv3_pack<T, V> xv = mnv3_load<T, V>(x + e);
        mnv3_pack<T, V> rv{};
        if (residual != nullptr) rv = mnv3_load<T, V>(residual + e);
        mnv3_pack<TO, V> o;
#pragma unroll
        for (int v = 0; v < V; v++) {
            float f = mnv3_activate(mnv3_to_float(xv.v[v]) + bias[c + v], act);
            if (residual != nullptr) f += mnv3_to_float(rv.v[v]);
            o.v[v] = mnv3_from_float<TO>(f);
        }
        mnv3_store<TO, V>(out + e, o);
    }
}

// mnv3_bias_act_<t>_<v8|v1> keep T; mnv3_bias_act_<t>_f32 writes float (the logits).
#define MNV3_BIAS_ACT_ENTRY(T, TO, t, suffix, V)                                                                      \
    extern "C" __global__ void mnv3_bias_act_##t##_##suffix(const T* x, TO* out, const float* __restrict__ bias,     \
                                                            const T* __restrict__ residual, int channels,            \
                                                            long long groups, int act) {                             \
        bias_act_nhwc<T, TO, V>(x, out, bias, residual, channels, groups, act);                                      \
    }

#define MNV3_BIAS_ACT_ENTRIES(T, t)                                                                                   \
    MNV3_BIAS_ACT_ENTRY(T, T, t, v8, 8)                                                                               \
    MNV3_BIAS_ACT_ENTRY(T, T, t, v1, 1)                                                                               \
    MNV3_BIAS_ACT_ENTRY(T, float, t, f32, 1)
MNV3_FOR_EACH_16BIT(MNV3_BIAS_ACT_ENTRIES)
