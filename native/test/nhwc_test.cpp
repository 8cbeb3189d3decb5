// The FP16/BF16 NHWC kernels (nhwc.cu) on the CPU emulator, for both storage types, against plain
// loops in double, launched as dev.mnv3.cuda.Kernels does: V = 8 channels per thread when the
// channel count is a multiple of 8, else 1; the depthwise grid of LaunchGeometry.depthwiseNhwc.
//
// Tolerances. A value stored in T is compared with the double reference rounded once to T (through
// float, as the kernel rounds its float result): rel L2 <= 1e-4 for __half and 1e-3 for
// __nv_bfloat16, a quarter of their unit roundoff (2^-11, 2^-8), so the odd one-ulp difference of
// a near tie passes and a wrong element or a second rounding does not. Values stored in float (the
// _f32 entries, SE partial sums and scales): rel L2 <= 1e-6, as for FP32.
#include "check.h"

#include "nhwc.cu"

using test::check;
using test::run;

namespace {

constexpr double kFp32 = 1e-6;

// The entry points and tolerance of one storage type.
template <typename T>
struct Nhwc;
#define NHWC_TEST_ENTRIES(T, t, tol)                                                                        \
    template <>                                                                                             \
    struct Nhwc<T> {                                                                                        \
        static constexpr const char* name = #t;                                                             \
        static constexpr double tolerance = tol;                                                            \
        static constexpr auto to_nhwc = mnv3_nchw_to_nhwc_##t;                                              \
    };
NHWC_TEST_ENTRIES(__half, f16, 1e-4)
NHWC_TEST_ENTRIES(__nv_bfloat16, bf16, 1e-3)

// The reference's value as the kernel stores it in TO: float, then TO.
template <typename TO>
std::vector<float> stored(const std::vector<double>& exact) {
    std::vector<float> v(exact.size());
    for (size_t i = 0; i < v.size(); i++) v[i] = test::to_float(test::from_float<TO>((float)exact[i]));
    return v;
}

// x float [N, C, H, W] -> y T [N, H, W, padded], channels past C zero.
template <typename T>
void to_nhwc(int n, int c, int h, int w, int padded) {
    const int plane = h * w;
    const long long total = (long long)n * plane * padded;
    std::vector<float> x = test::random((size_t)n * c * plane);
    std::vector<double> exact(total, 0.0);
    for (int i = 0; i < n; i++)
        for (int p = 0; p < plane; p++)
            for (int ch = 0; ch < c; ch++) exact[((size_t)i * plane + p) * padded + ch] = x[((size_t)i * c + ch) * plane + p];
    std::vector<float> want = stored<T>(exact);
    for (auto& [grid_name, grid] : test::grid_stride_grids(total)) {
        std::string name = std::string("mnv3_nchw_to_nhwc_") + Nhwc<T>::name + " N" + std::to_string(n) + " C" +
                           std::to_string(c) + "->" + std::to_string(padded) + " " + std::to_string(h) + "x" +
                           std::to_string(w) + ", " + grid_name;
        run(name, [&] {
            std::vector<T> y = test::poisoned<T>(total);
            emu::launch(grid, dim3(test::kBlock), Nhwc<T>::to_nhwc, x.data(), y.data(), c, padded, plane, total);
            check(name, y, want, Nhwc<T>::tolerance);
        });
    }
}

template <typename T>
void all_kernels() {
    to_nhwc<T>(2, 3, 9, 7, 8);  // the RGB input, padded to 8 channels
    to_nhwc<T>(1, 16, 5, 5, 16);

}

}  // namespace

int main() {
    all_kernels<__half>();
    all_kernels<__nv_bfloat16>();
    return test::report();
}
