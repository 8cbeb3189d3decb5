// The storage types of the FP16/BF16 path: activations live in NHWC as __half or __nv_bfloat16
// (float where a result leaves the network); arithmetic is always float (FP32 accumulation),
// rounded once when stored. Each op family's file instantiates its 16-bit entry points for both
// types with MNV3_FOR_EACH_16BIT.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

#include "common.cuh"

__device__ __forceinline__ float mnv3_to_float(float v) { return v; }
__device__ __forceinline__ float mnv3_to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float mnv3_to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

// Round to nearest even, as Java's Float.floatToFloat16 and the host-side bf16 conversion do, so
// weights converted on the host and values rounded on the device agree bit for bit.
template <typename T>
__device__ __forceinline__ T mnv3_from_float(float v) {
    if constexpr (std::is_same_v<T, float>) {
        return v;
    } else if constexpr (std::is_same_v<T, __half>) {
        return __float2half_rn(v);
    } else {
        return __float2bfloat16_rn(v);
    }
}

// V consecutive channels of one pixel, moved with one vector load or store (16 bytes for V = 8
// halves). Channel counts that are multiples of 8 use V = 8; any other count uses V = 1.
template <typename T, int V>
struct alignas(sizeof(T) * V) mnv3_pack {
    T v[V];
};

template <typename T, int V>
__device__ __forceinline__ mnv3_pack<T, V> mnv3_load(const T* p) {
    return *reinterpret_cast<const mnv3_pack<T, V>*>(p);
}

template <typename T, int V>
__device__ __forceinline__ void mnv3_store(T* p, const mnv3_pack<T, V>& v) {
    *reinterpret_cast<mnv3_pack<T, V>*>(p) = v;
}

// Instantiates the 16-bit entry points of a family once per storage type: ENTRIES(T, t), t the
// suffix of their names (dev.mnv3.cuda.Storage.kernelSuffix).
#define MNV3_FOR_EACH_16BIT(ENTRIES) ENTRIES(__half, f16) ENTRIES(__nv_bfloat16, bf16)
