// Device helpers shared by every kernel file: the activation codes and mnv3_activate, the warp
// sum, the 64-bit grid-stride loop. Every kernel is extern "C", so Java finds it by its plain
// name with cuModuleGetFunction. nhwc.cuh adds the 16-bit storage types on top of this.
#pragma once

// Activation codes: the ordinal of dev.mnv3.core.Activation (IDENTITY, RELU, HARDSWISH, HARDSIGMOID).
#define MNV3_IDENTITY 0
#define MNV3_RELU 1
#define MNV3_HARDSWISH 2
#define MNV3_HARDSIGMOID 3

// Written with comparisons rather than fmaxf/fminf so that NaN propagates as in PyTorch and in
// Java's Math.max: a NaN that leaks in must reach the output, not be clamped into a plausible 0.
__device__ __forceinline__ float mnv3_relu6(float x) {
    return x < 0.f ? 0.f : (x > 6.f ? 6.f : x);
}

// Same operation order as torchvision (and the CPU reference): x * relu6(x + 3) / 6, IEEE division.
__device__ __forceinline__ float mnv3_activate(float x, int act) {
    switch (act) {
        case MNV3_RELU: return x < 0.f ? 0.f : x;
        case MNV3_HARDSWISH: return x * mnv3_relu6(x + 3.f) / 6.f;
        case MNV3_HARDSIGMOID: return mnv3_relu6(x + 3.f) / 6.f;
        default: return x;
    }
}

// Sum of v over the 32 lanes of a warp; every lane gets the total. All lanes must be active.
__device__ __forceinline__ float mnv3_warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

// Grid-stride loop over [0, n) with 64-bit indices: a batch of large images exceeds 2^31 elements.
#define MNV3_GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long)blockDim.x * gridDim.x)
