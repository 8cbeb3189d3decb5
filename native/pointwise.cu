// The 1x1 convolution with its epilogue fused, one kernel per precision:
//
//   mnv3_pointwise_f32   FP32 NCHW: y = act(W (x * s) + bias) (+ residual), float FMA, one pass
//   mnv3_pointwise_tf32  the same on tensor cores: operands rounded to tf32, float accumulation
//   mnv3_pointwise_f16   FP16 / BF16 NHWC on tensor cores (WMMA 16x16x16, float accumulation):
//   mnv3_pointwise_bf16  y = act(x W^T + bias) (+ residual), each output rounded once
//
// The float kernels let FP32 and TF32 plans run without cuDNN. In FP16/BF16, cuDNN's 1x1 conv
// followed by our bias + activation kernel writes the raw output and reads it back: about a third
// of the network's memory traffic (PlanTrafficTest); the 16-bit kernels write each output once.
// DevicePlan times ours against cuDNN + epilogue per shape and keeps the faster.
#include "gemm.cuh"
#include "nhwc.cuh"

#if defined(__CUDACC__)
#include <mma.h>
#else
#include "emulation/wmma_emulation.h"
#endif

// ---- FP32 / TF32, NCHW float
//
// The 1x1 conv, per image n: y[n] [Nc, P] = act(W [Nc, K] . (x[n] [K, P] * s[n]) + bias) (+ residual[n]),
// P = H * W pixels, s[n][k] the SE excitation of the projection (null: none), applied to x as it
// is read (in float, not stored in between), residual added after the activation as in every
// bottleneck. bias is never null; residual and scale may be.
//
// Launch notes (both 1x1 kernels): blockDim 128, gridDim = (ceil(P / 64), ceil(Nc / 64),
// min(images, 65535)); blocks loop over images in z. Each block computes a 64 (c) x 64 (p) tile;
// K goes through shared memory 16 at a time, double-buffered: the next step's global loads are
// in flight while this one is multiplied. Static shared memory: 17 KB (f32), 34 KB (tf32).
// Any K, Nc, P and alignment; float4 loads and stores where P % 4 == 0 (x, y, residual) or
// K % 4 == 0 (W) and the pointer is 16-byte aligned, scalar ones otherwise. y aliases no input.

extern "C" __global__ void __launch_bounds__(MNV3_GEMM_THREADS, MNV3_GEMM_MIN_BLOCKS)
    mnv3_pointwise_f32(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
                       const float* __restrict__ residual, const float* __restrict__ scale, float* __restrict__ y,
                       int images, int K, int Nc, int P, int act) {
    __shared__ __align__(16) mnv3_gemm_stage stage[2];
    const int c0 = blockIdx.y * MNV3_GEMM_TILE, p0 = blockIdx.x * MNV3_GEMM_TILE;
    const int tc = threadIdx.x / 16, tp = threadIdx.x % 16;
    mnv3_pointwise_images(stage, x, w, bias, residual, scale, y, images, K, Nc, P, act,
                          [&](auto paths, mnv3_gemm_stage(&buffers)[2], const float* xn, const float* sn,
                              float(&acc)[8][4]) {
#pragma unroll
        for (int i = 0; i < 8; i++)
#pragma unroll
            for (int j = 0; j < 4; j++) acc[i][j] = 0.f;
        mnv3_gemm_k_loop<decltype(paths)>(buffers, w, xn, sn, K, Nc, P, c0, p0, [&](const mnv3_gemm_stage& s) {
#pragma unroll
            for (int k = 0; k < MNV3_GEMM_KSTEP; k++) {
                const float4 a0 = *reinterpret_cast<const float4*>(&s.ws[k][tc * 8]);
                const float4 a1 = *reinterpret_cast<const float4*>(&s.ws[k][tc * 8 + 4]);
                const float4 b4 = *reinterpret_cast<const float4*>(&s.xs[k][tp * 4]);
                const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w}, b[4] = {b4.x, b4.y, b4.z, b4.w};
#pragma unroll
                for (int i = 0; i < 8; i++)
#pragma unroll
                    for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
            }
        });
    });
}

// Tensor cores: each warp a 32 (c) x 32 (p) quarter of the tile, 2 x 2 fragments of 16 x 16,
// m16n16k8 with tf32 operands (every element rounded to nearest, ties away, by __float_to_tf32:
// the tensor cores read only a tf32's bits of a float, so the rounding is ours to do), float
// accumulators; the SE scale is applied in float before that rounding. The accumulators go
// through a float tile in shared memory to the epilogue of mnv3_pointwise_f32, so both kernels
// write y identically.
extern "C" __global__ void __launch_bounds__(MNV3_GEMM_THREADS, MNV3_GEMM_MIN_BLOCKS)
    mnv3_pointwise_tf32(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
                        const float* __restrict__ residual, const float* __restrict__ scale, float* __restrict__ y,
                        int images, int K, int Nc, int P, int act) {
    namespace wmma = nvcuda::wmma;
    __shared__ __align__(32) mnv3_gemm_stage stage[2];
    __shared__ __align__(32) float out[MNV3_GEMM_TILE][MNV3_GEMM_LD];
    const int c0 = blockIdx.y * MNV3_GEMM_TILE, p0 = blockIdx.x * MNV3_GEMM_TILE;
    const int warp = threadIdx.x / 32, wc = (warp / 2) * 32, wp = (warp % 2) * 32;
    const int tc = threadIdx.x / 16, tp = threadIdx.x % 16;
    mnv3_pointwise_images(stage, x, w, bias, residual, scale, y, images, K, Nc, P, act,
                          [&](auto paths, mnv3_gemm_stage(&buffers)[2], const float* xn, const float* sn,
                              float(&acc)[8][4]) {
        wmma::fragment<wmma::accumulator, 16, 16, 8, float> f[2][2];
#pragma unroll
        for (int i = 0; i < 2; i++)
#pragma unroll
            for (int j = 0; j < 2; j++) wmma::fill_fragment(f[i][j], 0.f);
        mnv3_gemm_k_loop<decltype(paths)>(buffers, w, xn, sn, K, Nc, P, c0, p0, [&](const mnv3_gemm_stage& s) {
#pragma unroll
            for (int k = 0; k < MNV3_GEMM_KSTEP; k += 8) {
                // A = W: element (c, k) at ws[k][c], i.e. col-major; B = x: (k, p) at xs[k][p], row-major
                wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::col_major> fa[2];
                wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fb[2];
#pragma unroll
                for (int i = 0; i < 2; i++) {
                    wmma::load_matrix_sync(fa[i], &s.ws[k][wc + 16 * i], MNV3_GEMM_LD);
#pragma unroll
                    for (int e = 0; e < fa[i].num_elements; e++) fa[i].x[e] = wmma::__float_to_tf32(fa[i].x[e]);
                }
#pragma unroll
                for (int j = 0; j < 2; j++) {
                    wmma::load_matrix_sync(fb[j], &s.xs[k][wp + 16 * j], MNV3_GEMM_LD);
#pragma unroll
                    for (int e = 0; e < fb[j].num_elements; e++) fb[j].x[e] = wmma::__float_to_tf32(fb[j].x[e]);
                }
#pragma unroll
                for (int i = 0; i < 2; i++)
#pragma unroll
                    for (int j = 0; j < 2; j++) wmma::mma_sync(f[i][j], fa[i], fb[j], f[i][j]);
            }
        });
        // the K loop ended with a barrier: every thread is past the previous image's reads of out
#pragma unroll
        for (int i = 0; i < 2; i++)
#pragma unroll
            for (int j = 0; j < 2; j++)
                wmma::store_matrix_sync(&out[wc + 16 * i][wp + 16 * j], f[i][j], MNV3_GEMM_LD, wmma::mem_row_major);
        __syncthreads();
#pragma unroll
        for (int i = 0; i < 8; i++) {
            const float4 v = *reinterpret_cast<const float4*>(&out[tc * 8 + i][tp * 4]);
            acc[i][0] = v.x, acc[i][1] = v.y, acc[i][2] = v.z, acc[i][3] = v.w;
        }
    });
}

// ---- FP16 / BF16, NHWC
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

MNV3_FOR_EACH_16BIT(MNV3_POINTWISE_ENTRY)
