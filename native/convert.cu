// Element type conversions of whole tensors on the device: an F16/BF16 input batch widened to the
// float the network computes in, and float results narrowed to the caller's 16-bit type, so a
// 16-bit tensor crosses the bus at half the bytes.
//
// Widening is exact (every __half and __nv_bfloat16 is a float). Narrowing rounds to nearest even
// as the host's Tensor conversion does; a NaN stays NaN (its payload may become the canonical one).
//
// Launch notes: 1-D grid-stride, blockDim 256, gridDim = LaunchGeometry.elementwise(n). x [n],
// y [n]; they do not overlap. Entry names: mnv3_convert_{to,from}_f32_{f16,bf16}.
#include "nhwc.cuh"

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
