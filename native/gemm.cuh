// The tiling of the FP32 and TF32 1x1 convolutions (mnv3_pointwise_f32 and mnv3_pointwise_tf32 in
// pointwise.cu), which the two kernels share: a 64 (c) x 64 (p) output tile per block of 128
// threads, K staged through shared memory 16 at a time and double-buffered, float4 loads and
// stores where the shape and the pointers allow, the fused epilogue (bias, activation,
// residual), and the loop over the images of a batch. Layouts and launch notes: pointwise.cu.
#pragma once
#include "common.cuh"

#include <cstdint>

#define MNV3_GEMM_TILE 64
#define MNV3_GEMM_KSTEP 16
#define MNV3_GEMM_THREADS 128
// At least two blocks per SM: lets ptxas use up to 255 registers (it takes 147 for f32, 188 for
// tf32, no spills); without a minimum, ptxas for sm_90 caps the f32 kernel at 128 and spills.
#define MNV3_GEMM_MIN_BLOCKS 2
// Row stride of the staged tiles: 16-byte rows for float4 and WMMA (ldm a multiple of 4 floats),
// and the transposed W stores and the WMMA loads off a single bank.
#define MNV3_GEMM_LD (MNV3_GEMM_TILE + 4)

// One K step of both operands: ws[k][c] = W[c0 + c][k0 + k] (transposed: a thread reads 8 channels
// of one k at once; for WMMA it is A in col-major) and xs[k][p] = x[k0 + k][p0 + p] * s[k0 + k].
struct mnv3_gemm_stage {
    float ws[MNV3_GEMM_KSTEP][MNV3_GEMM_LD];
    float xs[MNV3_GEMM_KSTEP][MNV3_GEMM_LD];
};

// The next K step in registers: 8 elements of W and 8 of x per thread (64 x 16 each).
struct mnv3_gemm_prefetch {
    float w[8], x[8];
};

__device__ __forceinline__ bool mnv3_aligned16(const void* p) {
    return ((uintptr_t)p & 15) == 0;
}

// Where the 8 elements a thread moves of a ROWS x COLS tile lie (slot < 8): with float4 (vec),
// 4 consecutive columns from each of two chunks of 4; else single elements 128 apart, so a warp
// reads 32 consecutive columns. Either way the block covers the tile (1024 / COLS rows) once.
template <int COLS, bool vec>
__device__ __forceinline__ void mnv3_tile_slot(int slot, int& row, int& col) {
    if constexpr (vec) {
        const int chunk = threadIdx.x + MNV3_GEMM_THREADS * (slot / 4);
        row = chunk / (COLS / 4), col = chunk % (COLS / 4) * 4 + slot % 4;
    } else {
        const int e = threadIdx.x + MNV3_GEMM_THREADS * slot;
        row = e / COLS, col = e % COLS;
    }
}

// r = this thread's elements of the tile at (row0, col0) of a row-major [rows, cols] matrix,
// zeros outside it. vec needs cols % 4 == 0 and m 16-byte aligned: then a chunk is inside whole
// or not at all.
template <int COLS, bool vec>
__device__ __forceinline__ void mnv3_tile_load(float (&r)[8], const float* __restrict__ m, int rows, int cols,
                                               int row0, int col0) {
#pragma unroll
    for (int slot = 0; slot < 8; slot += vec ? 4 : 1) {
        int row, col;
        mnv3_tile_slot<COLS, vec>(slot, row, col);
        row += row0, col += col0;
        const bool inside = row < rows && col < cols;
        if constexpr (vec) {
            float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
            if (inside) v = *reinterpret_cast<const float4*>(m + (long long)row * cols + col);
            r[slot] = v.x, r[slot + 1] = v.y, r[slot + 2] = v.z, r[slot + 3] = v.w;
        } else {
            r[slot] = inside ? m[(long long)row * cols + col] : 0.f;
        }
    }
}

// Global -> registers: the W tile [64 c, 16 k] of [Nc, K] and the x tile [16 k, 64 p] of [K, P].
template <typename Paths>
__device__ __forceinline__ void mnv3_gemm_load(mnv3_gemm_prefetch& r, const float* __restrict__ w,
                                               const float* __restrict__ x, int K, int Nc, int P, int c0, int p0,
                                               int k0) {
    mnv3_tile_load<MNV3_GEMM_KSTEP, Paths::vec_w>(r.w, w, Nc, K, c0, k0);
    mnv3_tile_load<MNV3_GEMM_TILE, Paths::vec_x>(r.x, x, K, P, k0, p0);
}

// Registers -> shared: W transposed, x times the SE scale of its k.
template <typename Paths>
__device__ __forceinline__ void mnv3_gemm_store(mnv3_gemm_stage& s, const mnv3_gemm_prefetch& r,
                                                const float* __restrict__ scale, int K, int k0) {
#pragma unroll
    for (int slot = 0; slot < 8; slot++) {
        int c, k;
        mnv3_tile_slot<MNV3_GEMM_KSTEP, Paths::vec_w>(slot, c, k);
        s.ws[k][c] = r.w[slot];
    }
#pragma unroll
    for (int slot = 0; slot < 8; slot++) {
        int k, p;
        mnv3_tile_slot<MNV3_GEMM_TILE, Paths::vec_x>(slot, k, p);
        s.xs[k][p] = scale != nullptr && k0 + k < K ? r.x[slot] * scale[k0 + k] : r.x[slot];
    }
}

// The K loop of one image: stage k0 = 0, then per step prefetch the next one, run mac(stage) on
// this one, store the next into the other buffer, and one barrier. mac only reads the stage.
template <typename Paths, typename Mac>
__device__ __forceinline__ void mnv3_gemm_k_loop(mnv3_gemm_stage (&stage)[2], const float* __restrict__ w,
                                                 const float* __restrict__ x, const float* __restrict__ scale, int K,
                                                 int Nc, int P, int c0, int p0, Mac mac) {
    mnv3_gemm_prefetch r;
    mnv3_gemm_load<Paths>(r, w, x, K, Nc, P, c0, p0, 0);
    mnv3_gemm_store<Paths>(stage[0], r, scale, K, 0);
    __syncthreads();
    int buf = 0;
    for (int k0 = 0; k0 < K; k0 += MNV3_GEMM_KSTEP) {
        const bool next = k0 + MNV3_GEMM_KSTEP < K;
        if (next) mnv3_gemm_load<Paths>(r, w, x, K, Nc, P, c0, p0, k0 + MNV3_GEMM_KSTEP);
        mac(stage[buf]);
        // the other buffer was last read before the previous barrier
        if (next) mnv3_gemm_store<Paths>(stage[buf ^ 1], r, scale, K, k0 + MNV3_GEMM_KSTEP);
        __syncthreads();
        buf ^= 1;
    }
}

// The epilogue of one thread: channels c0 + tc * 8 + i (i < 8), pixels p0 + tp * 4 + j (j < 4),
// 16 threads per channel row, so a half-warp writes 64 consecutive pixels. vec: P % 4 == 0 and y
// and residual 16-byte aligned.
__device__ __forceinline__ void mnv3_gemm_epilogue(const float (&acc)[8][4], const float* __restrict__ bias,
                                                   const float* __restrict__ residual, float* __restrict__ y, int Nc,
                                                   int P, int c, int p, int act, bool vec) {
#pragma unroll
    for (int i = 0; i < 8; i++, c++) {
        if (c >= Nc || p >= P) return;
        const float b = bias[c];
        const long long at = (long long)c * P + p;
        if (vec) {
            float4 res = make_float4(0.f, 0.f, 0.f, 0.f);
            if (residual != nullptr) res = *reinterpret_cast<const float4*>(residual + at);
            float4 v;
            v.x = mnv3_activate(acc[i][0] + b, act) + res.x;
            v.y = mnv3_activate(acc[i][1] + b, act) + res.y;
            v.z = mnv3_activate(acc[i][2] + b, act) + res.z;
            v.w = mnv3_activate(acc[i][3] + b, act) + res.w;
            *reinterpret_cast<float4*>(y + at) = v;
        } else {
#pragma unroll
            for (int j = 0; j < 4; j++) {
                if (p + j >= P) break;
                float v = mnv3_activate(acc[i][j] + b, act);
                if (residual != nullptr) v += residual[at + j];
                y[at + j] = v;
            }
        }
    }
}

// The staging paths of a launch: float4 loads of W (K % 4 == 0, W 16-byte aligned) and of x
// (P % 4 == 0, x aligned), or scalar ones. Each combination is compiled as a loop of its own, so
// the scalar path's addresses take no registers in the float4 one.
template <bool VW, bool VX>
struct mnv3_gemm_paths {
    static constexpr bool vec_w = VW, vec_x = VX;
};

// The image loop around both 1x1 kernels: gemm(paths, stage, x[n], scale[n], acc) fills each
// thread's 8 x 4 accumulators of image n, staging through the block's buffers, and the epilogue
// writes them.
template <typename Gemm>
__device__ __forceinline__ void mnv3_pointwise_images(mnv3_gemm_stage (&stage)[2], const float* __restrict__ x,
                                                      const float* __restrict__ w,
                                                      const float* __restrict__ bias,
                                                      const float* __restrict__ residual,
                                                      const float* __restrict__ scale, float* __restrict__ y,
                                                      int images, int K, int Nc, int P, int act, Gemm gemm) {
    const int c = blockIdx.y * MNV3_GEMM_TILE + (threadIdx.x / 16) * 8;
    const int p = blockIdx.x * MNV3_GEMM_TILE + (threadIdx.x % 16) * 4;
    const bool vec_out = P % 4 == 0 && mnv3_aligned16(y) && (residual == nullptr || mnv3_aligned16(residual));
    auto loop = [&](auto paths) {
        for (int n = blockIdx.z; n < images; n += gridDim.z) {
            float acc[8][4];
            gemm(paths, stage, x + (long long)n * K * P, scale != nullptr ? scale + (long long)n * K : nullptr, acc);
            const long long out = (long long)n * Nc * P;
            mnv3_gemm_epilogue(acc, bias, residual != nullptr ? residual + out : nullptr, y + out, Nc, P, c, p, act,
                               vec_out);
        }
    };
    const bool vec_w = K % 4 == 0 && mnv3_aligned16(w), vec_x = P % 4 == 0 && mnv3_aligned16(x);
    if (vec_w && vec_x) {
        loop(mnv3_gemm_paths<true, true>());
    } else if (vec_w) {
        loop(mnv3_gemm_paths<true, false>());  // MobileNetV3 at 7x7: P = 49
    } else {
        loop(mnv3_gemm_paths<false, false>());
    }
}
