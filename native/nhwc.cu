// The kernels of the FP16/BF16 path: NHWC activations in T (__half or __nv_bfloat16), float
// weights for everything cuDNN does not run, float accumulation, one rounding per stored value.
// cuDNN runs the dense convolutions (tensor cores, NHWC); these kernels do the rest:
//
//   mnv3_nchw_to_nhwc_*   the float NCHW input batch -> T NHWC, channels zero-padded (3 -> 8)
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

// ---- the entry points Java looks up by name (dev.mnv3.cuda.Kernels)

#define MNV3_NHWC_ENTRIES(T, t)                                                                                       \
    extern "C" __global__ void mnv3_nchw_to_nhwc_##t(const float* __restrict__ x, T* __restrict__ y, int channels,   \
                                                     int padded, int plane, long long total) {                       \
        nchw_to_nhwc<T>(x, y, channels, padded, plane, total);                                                      \
    }

MNV3_NHWC_ENTRIES(__half, f16)
MNV3_NHWC_ENTRIES(__nv_bfloat16, bf16)
