// 1x1 convolution with its epilogue fused, for the FP16/BF16 NHWC path: y = act(x W^T + bias)
// (+ residual), on tensor cores (WMMA, 16x16x16, float accumulation). cuDNN's 1x1 conv followed by
// our bias + activation kernel writes the raw output and reads it back: about a third of the
// network's memory traffic (PlanTrafficTest). This kernel writes each output once, rounded once.
// DevicePlan times it against cuDNN + epilogue per shape and keeps the faster.
//
// As a GEMM: x [M, K] row-major (M = N * H * W pixels, K input channels, NHWC), W [Nc, K]
// row-major (the NHWC filter of a 1x1 conv), y and residual [M, Nc], bias [Nc] or null (none).
// Any M, K, Nc: tiles are staged through shared memory with zeros past the edges. When scale is
// not null (the projection of an SE block), x is first multiplied by the SE scale [images, K] of
// its image (rows_per_image rows each) and rounded to T, exactly as mnv3_channel_scale_* would
// store it: the excitation then costs no pass of its own over the depthwise output.
//
// Launch notes: blockDim 128 (4 warps, 2 x 2, each a 32 x 32 output tile), gridDim =
// (ceil(M / 64), ceil(Nc / 64)); 27 KB of static shared memory.
#include "nhwc.cuh"

#if defined(__CUDACC__)
#include <mma.h>
#else
#include "emulation/wmma_emulation.h"
#endif

#define MNV3_PW_TILE 64
#define MNV3_PW_KSTEP 32
#define MNV3_PW_THREADS 128
// Row padding of the staged tiles: keeps rows 16-byte aligned (WMMA's ldm rule) and off one bank.
#define MNV3_PW_PAD 8

// Stages rows [row0, row0 + 64) x columns [k0, k0 + 32) of a row-major [rows, K] matrix into
// tile[64][32 + pad], zero outside, each element times scale[row / rows_per_image, k] when scale
// is not null. Eight elements (16 bytes) at a time where they are whole.
template <typename T>
__device__ __forceinline__ void pointwise_stage(T (*tile)[MNV3_PW_KSTEP + MNV3_PW_PAD], const T* __restrict__ src,
                                                const float* __restrict__ scale, int rows_per_image, long long rows,
                                                int K, long long row0, int k0) {
    constexpr int chunks = MNV3_PW_TILE * MNV3_PW_KSTEP / 8;  // 256 chunks of 8, two per thread
    for (int c = threadIdx.x; c < chunks; c += MNV3_PW_THREADS) {
        const int r = c / (MNV3_PW_KSTEP / 8), kk = (c % (MNV3_PW_KSTEP / 8)) * 8;
        const long long row = row0 + r;
        const int k = k0 + kk;
        T* dst = &tile[r][kk];
        const float* s = scale != nullptr && row < rows ? scale + (row / rows_per_image) * K + k : nullptr;
        if (row < rows && k + 8 <= K && K % 8 == 0) {
            mnv3_pack<T, 8> v = mnv3_load<T, 8>(src + row * K + k);
            if (s != nullptr) {
#pragma unroll
                for (int i = 0; i < 8; i++) v.v[i] = mnv3_from_float<T>(mnv3_to_float(v.v[i]) * s[i]);
            }
            mnv3_store<T, 8>(dst, v);
        } else {
#pragma unroll
            for (int i = 0; i < 8; i++) {
                T v = row < rows && k + i < K ? src[row * K + k + i] : mnv3_from_float<T>(0.f);
                dst[i] = s != nullptr && k + i < K ? mnv3_from_float<T>(mnv3_to_float(v) * s[i]) : v;
            }
        }
    }
}

template <typename T>
__device__ __forceinline__ void pointwise(const T* __restrict__ x, const T* __restrict__ w,
                                          const float* __restrict__ bias, const T* __restrict__ residual,
                                          const float* __restrict__ scale, int rows_per_image, T* __restrict__ y,
                                          long long M, int K, int Nc, int act) {
    namespace wmma = nvcuda::wmma;
    __shared__ __align__(32) T a[MNV3_PW_TILE][MNV3_PW_KSTEP + MNV3_PW_PAD];
    __shared__ __align__(32) T b[MNV3_PW_TILE][MNV3_PW_KSTEP + MNV3_PW_PAD];
    __shared__ __align__(32) float out[MNV3_PW_TILE][MNV3_PW_TILE + 4];

    const long long m0 = (long long)blockIdx.x * MNV3_PW_TILE;
    const int n0 = blockIdx.y * MNV3_PW_TILE;
    const int warp = threadIdx.x / 32, wm = (warp / 2) * 32, wn = (warp % 2) * 32;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.f);

    for (int k0 = 0; k0 < K; k0 += MNV3_PW_KSTEP) {
        pointwise_stage<T>(a, x, scale, rows_per_image, M, K, m0, k0);
        pointwise_stage<T>(b, w, nullptr, 1, Nc, K, n0, k0);  // b[n][k]: W^T's columns, i.e. col-major [K, 64]
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < MNV3_PW_KSTEP; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> fb[2];
#pragma unroll
            for (int i = 0; i < 2; i++) wmma::load_matrix_sync(fa[i], &a[wm + 16 * i][kk], MNV3_PW_KSTEP + MNV3_PW_PAD);
#pragma unroll
            for (int j = 0; j < 2; j++) wmma::load_matrix_sync(fb[j], &b[wn + 16 * j][kk], MNV3_PW_KSTEP + MNV3_PW_PAD);
#pragma unroll
            for (int i = 0; i < 2; i++)
#pragma unroll
                for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
        }
        __syncthreads();  // the next stage overwrites a and b
    }
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) {
            wmma::store_matrix_sync(&out[wm + 16 * i][wn + 16 * j], acc[i][j], MNV3_PW_TILE + 4, wmma::mem_row_major);
        }
    __syncthreads();

    // the epilogue: eight output channels of one pixel per step, written with one 16-byte store
    constexpr int groups = MNV3_PW_TILE * MNV3_PW_TILE / 8;
    for (int g = threadIdx.x; g < groups; g += MNV3_PW_THREADS) {
        const int r = g / (MNV3_PW_TILE / 8), cc = (g % (MNV3_PW_TILE / 8)) * 8;
        const long long row = m0 + r;
        const int n = n0 + cc;
        if (row >= M || n >= Nc) continue;
        T* dst = y + row * Nc + n;
        const T* res = residual != nullptr ? residual + row * Nc + n : nullptr;
        if (n + 8 <= Nc && Nc % 8 == 0) {
            mnv3_pack<T, 8> o, rv{};
            if (res != nullptr) rv = mnv3_load<T, 8>(res);
#pragma unroll
            for (int i = 0; i < 8; i++) {
                float v = mnv3_activate(out[r][cc + i] + (bias != nullptr ? bias[n + i] : 0.f), act);
                if (res != nullptr) v += mnv3_to_float(rv.v[i]);
                o.v[i] = mnv3_from_float<T>(v);
            }
            mnv3_store<T, 8>(dst, o);
        } else {
            for (int i = 0; i < 8 && n + i < Nc; i++) {
                float v = mnv3_activate(out[r][cc + i] + (bias != nullptr ? bias[n + i] : 0.f), act);
                if (res != nullptr) v += mnv3_to_float(res[i]);
                dst[i] = mnv3_from_float<T>(v);
            }
        }
    }
}

#define MNV3_POINTWISE_ENTRY(T, t)                                                                                  \
    extern "C" __global__ void __launch_bounds__(MNV3_PW_THREADS) mnv3_pointwise_##t(                               \
        const T* __restrict__ x, const T* __restrict__ w, const float* __restrict__ bias,                           \
        const T* __restrict__ residual, const float* __restrict__ scale, int rows_per_image, T* __restrict__ y,     \
        long long M, int K, int Nc, int act) {                                                                      \
        pointwise<T>(x, w, bias, residual, scale, rows_per_image, y, M, K, Nc, act);                               \
    }

MNV3_POINTWISE_ENTRY(__half, f16)
MNV3_POINTWISE_ENTRY(__nv_bfloat16, bf16)
