// nvcuda::wmma on the CPU, for the emulated kernels (cuda_emulation.h must come first).
//
// On a GPU a fragment is spread over the 32 lanes of a warp in an unspecified way, and
// load/mma/store are collective. Code that only loads, multiplies, fills and stores fragments (as
// ours does) cannot tell how, so here every lane holds the whole tile and does the whole
// operation itself: 32 times the work, the same values. Stores are made by lane 0 alone, so the
// lanes do not race on the destination; the kernel's barrier before reading it back is still
// required, as on a GPU. Products are summed in float in k order (tensor cores sum in some order
// of their own in at least float precision: tests compare with a tolerance).
//
// precision::tf32 fragments (m16n16k8) hold float, loaded from float*. The kernel rounds each
// element with __float_to_tf32; mma_sync then reads only the 19 bits a tf32 operand has (the
// tensor cores take no other bits either; what they do with a float that was not rounded is not
// specified, and here it is truncated), so a kernel that skips the rounding differs from a
// reference computed on rounded operands.
#pragma once
#ifdef __CUDACC__
#error "wmma_emulation.h is for host compilers only"
#endif

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
namespace precision {
struct tf32 {};
}  // namespace precision

namespace detail {
// What a fragment of element type T holds and is loaded from: T itself, float for tf32.
template <typename T>
struct storage {
    using type = T;
};
template <>
struct storage<precision::tf32> {
    using type = float;
};
template <typename T>
using storage_t = typename storage<T>::type;

inline uint32_t bits(float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}
inline float from_bits(uint32_t b) {
    float v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}
}  // namespace detail

// cvt.rna.tf32.f32: round to 10 mantissa bits, to nearest, ties away from zero (adding half of
// the dropped range to the magnitude carries into the kept bits exactly then); NaN and infinity
// unchanged. The result is a float whose low 13 bits are zero.
inline float __float_to_tf32(float v) {
    if (!std::isfinite(v)) return v;
    return detail::from_bits((detail::bits(v) + 0x1000u) & ~0x1fffu);
}

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment;

// A is M x K, B is K x N, the accumulator M x N; x holds the tile row-major in every lane.
template <int M, int N, int K, typename T, typename Layout>
struct fragment<matrix_a, M, N, K, T, Layout> {
    static constexpr int rows = M, cols = K, num_elements = M * K;
    detail::storage_t<T> x[M * K];
};

template <int M, int N, int K, typename T, typename Layout>
struct fragment<matrix_b, M, N, K, T, Layout> {
    static constexpr int rows = K, cols = N, num_elements = K * N;
    detail::storage_t<T> x[K * N];
};

template <int M, int N, int K, typename T>
struct fragment<accumulator, M, N, K, T, void> {
    static constexpr int rows = M, cols = N, num_elements = M * N;
    T x[M * N];
};

namespace detail {
// An operand as the tensor cores read it: half and bf16 widened exactly, tf32 without its low 13 bits.
template <typename T>
inline float operand(storage_t<T> v) {
    if constexpr (std::is_same_v<T, precision::tf32>) {
        return std::isfinite(v) ? from_bits(bits(v) & ~0x1fffu) : v;
    } else {
        return mnv3_to_float(v);
    }
}

inline bool lane0() { return emu::thread_rank % 32 == 0; }

template <typename F, typename T>
inline void load(F& f, const T* p, unsigned ldm, bool rowMajor) {
    for (int r = 0; r < F::rows; r++)
        for (int c = 0; c < F::cols; c++) f.x[r * F::cols + c] = rowMajor ? p[r * ldm + c] : p[c * ldm + r];
}
}  // namespace detail

template <typename Use, int M, int N, int K, typename T, typename Layout>
inline void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const detail::storage_t<T>* p, unsigned ldm) {
    detail::load(f, p, ldm, std::is_same_v<Layout, row_major>);
}

template <int M, int N, int K, typename T>
inline void load_matrix_sync(fragment<accumulator, M, N, K, T, void>& f, const T* p, unsigned ldm, layout_t layout) {
    detail::load(f, p, ldm, layout == mem_row_major);
}

template <typename Use, int M, int N, int K, typename T, typename Layout>
inline void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, const detail::storage_t<T>& v) {
    for (int i = 0; i < f.num_elements; i++) f.x[i] = v;
}

template <int M, int N, int K, typename TI, typename LA, typename LB, typename TC>
inline void mma_sync(fragment<accumulator, M, N, K, TC, void>& d, const fragment<matrix_a, M, N, K, TI, LA>& a,
                     const fragment<matrix_b, M, N, K, TI, LB>& b, const fragment<accumulator, M, N, K, TC, void>& c) {
    TC sum[M * N];
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            float s = c.x[m * N + n];
            for (int k = 0; k < K; k++)
                s = fmaf(detail::operand<TI>(a.x[m * K + k]), detail::operand<TI>(b.x[k * N + n]), s);
            sum[m * N + n] = s;
        }
    for (int i = 0; i < M * N; i++) d.x[i] = sum[i];  // d may be c
}

template <int M, int N, int K, typename T>
inline void store_matrix_sync(T* p, const fragment<accumulator, M, N, K, T, void>& f, unsigned ldm, layout_t layout) {
    if (!detail::lane0()) return;
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) {
            if (layout == mem_row_major) {
                p[r * ldm + c] = f.x[r * N + c];
            } else {
                p[c * ldm + r] = f.x[r * N + c];
            }
        }
}

}  // namespace wmma
}  // namespace nvcuda
