// Conversions of whole tensors on the device: an F16/BF16 input batch widened to the float the
// network computes in, float results narrowed to the caller's 16-bit type (so a 16-bit tensor
// crosses the bus at half the bytes), and the float NCHW input batch to the T NHWC layout of the
// FP16/BF16 path (t = f16, bf16).
//
//   mnv3_convert_to_f32_<t>, mnv3_convert_from_f32_<t>   element types, any layout
//   mnv3_nchw_to_nhwc_<t>   float NCHW -> T NHWC, channels zero-padded (the RGB input: 3 -> 8),
//                           when the stem runs on cuDNN (mnv3_stem_<t>_* in stem.cu reads float)
//
// Widening is exact (every __half and __nv_bfloat16 is a float). Narrowing rounds to nearest even
// as the host's Tensor conversion does; a NaN stays NaN (its payload may become the canonical one).
#include "nhwc.cuh"

// ---- element types
//
// Launch notes: 1-D grid-stride, blockDim 256, gridDim = LaunchGeometry.elementwise(n). x [n],
// y [n]; they do not overlap.
template <typename From, typename To>
__device__ __forceinline__ void convert_elements(const From* __restrict__ x, To* __restrict__ y, long long n) {
    MNV3_GRID_STRIDE(i, n) y[i] = mnv3_from_float<To>(mnv3_to_float(x[i]));
}

extern "C" __global__ void mnv3_convert_to_f32_f16(const __half* __restrict__ x, float* __restrict__ y, long long n) {
    convert_elements(x, y, n);
}

extern "C" __global__ void mnv3_convert_to_f32_bf16(const __nv_bfloat16* __restrict__ x, float* __restrict__ y,
                                                    long long n) {
    convert_elements(x, y, n);
}

extern "C" __global__ void mnv3_convert_from_f32_f16(const float* __restrict__ x, __half* __restrict__ y, long long n) {
    convert_elements(x, y, n);
}

extern "C" __global__ void mnv3_convert_from_f32_bf16(const float* __restrict__ x, __nv_bfloat16* __restrict__ y,
                                                      long long n) {
    convert_elements(x, y, n);
}

// ---- layout: NCHW float -> NHWC T

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

#define MNV3_NCHW_TO_NHWC_ENTRY(T, t)                                                                               \
    extern "C" __global__ void mnv3_nchw_to_nhwc_##t(const float* __restrict__ x, T* __restrict__ y, int channels, \
                                                     int padded, int plane, long long total) {                     \
        nchw_to_nhwc<T>(x, y, channels, padded, plane, total);                                                    \
    }
MNV3_FOR_EACH_16BIT(MNV3_NCHW_TO_NHWC_ENTRY)
