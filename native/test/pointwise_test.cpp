// The fused 1x1 convolution (pointwise.cu, WMMA tensor-core tiles) on the CPU emulator, with
// native/emulation/wmma_emulation.h standing in for the tensor cores: y = act(x W^T + bias)
// (+ residual), both storage types, against plain loops in double rounded once to T (the
// tolerances of nhwc_test.cpp). Shapes cover whole and partial 64 x 64 tiles, K that is not a
// multiple of the 32-wide K step, and channel counts that are not multiples of 8 (the scalar
// staging and epilogue paths); the grid is the one Kernels.pointwise launches. A null bias means
// none: those cases are also compared with the result a bias would give, which must be far off.
#include "check.h"

#include "pointwise.cu"

using test::check;
using test::run;

namespace {

template <typename T>
struct Pointwise;
template <>
struct Pointwise<__half> {
    static constexpr const char* name = "f16";
    static constexpr double tolerance = 1e-4;
    static constexpr auto kernel = mnv3_pointwise_f16;
};
template <>
struct Pointwise<__nv_bfloat16> {
    static constexpr const char* name = "bf16";
    static constexpr double tolerance = 1e-3;
    static constexpr auto kernel = mnv3_pointwise_bf16;
};

template <typename T>
void pointwise_case(long long m, int k, int n, int act, bool with_residual, int rows_per_image = 0,
                    bool with_bias = true) {
    const bool scaled = rows_per_image > 0;  // the SE scale of each image applied to x first
    std::string name = std::string("pointwise ") + Pointwise<T>::name + " M" + std::to_string(m) + " K" +
                       std::to_string(k) + " N" + std::to_string(n) + " " + test::activation_name(act) +
                       (with_residual ? " + residual" : "") +
                       (scaled ? ", SE scale per " + std::to_string(rows_per_image) + " rows" : "") +
                       (with_bias ? "" : ", no bias");
    run(name, [&] {
        std::vector<T> x = test::random<T>(m * k), w = test::random<T>((size_t)n * k, -0.5f, 0.5f);
        std::vector<T> res = test::random<T>(m * n);
        std::vector<float> bias = test::random<float>(n);
        const long long images = scaled ? (m + rows_per_image - 1) / rows_per_image : 0;
        std::vector<float> scale = test::random<float>(images * k, 0.f, 1.f);
        std::vector<T> y = test::poisoned<T>(m * n);
        dim3 grid((unsigned)((m + 63) / 64), (unsigned)((n + 63) / 64));
        emu::launch(grid, dim3(128), Pointwise<T>::kernel, x.data(), w.data(), with_bias ? bias.data() : nullptr,
                    with_residual ? res.data() : nullptr, scaled ? scale.data() : nullptr, scaled ? rows_per_image : 1,
                    y.data(), m, k, n, act);
        // the expected values with the bias and (when there is none) without it
        auto expected = [&](bool biased) {
            std::vector<float> want(m * n);
            for (long long r = 0; r < m; r++)
                for (int o = 0; o < n; o++) {
                    double s = biased ? bias[o] : 0.0;
                    for (int i = 0; i < k; i++) {
                        // the scaled input is rounded to T, as the excitation kernel would store it
                        float xi = test::to_float(x[r * k + i]);
                        if (scaled) xi = test::to_float(test::from_float<T>(xi * scale[(r / rows_per_image) * k + i]));
                        s += (double)xi * test::to_float(w[(size_t)o * k + i]);
                    }
                    double v = test::activate(s, act);
                    if (with_residual) v += test::to_float(res[r * n + o]);
                    want[r * n + o] = test::to_float(test::from_float<T>((float)v));
                }
            return want;
        };
        std::vector<float> want = expected(with_bias);
        check(name, y, want, Pointwise<T>::tolerance);
        if (!with_bias)
            test::differs(name + ": guard, with the bias", y, expected(true), 100 * Pointwise<T>::tolerance);
    });
}

template <typename T>
void all_cases() {
    pointwise_case<T>(130, 72, 40, MNV3_HARDSWISH, true);    // partial tiles in M and N, K not a multiple of 32
    pointwise_case<T>(64, 16, 24, MNV3_RELU, false);         // one whole M tile, K one WMMA step
    pointwise_case<T>(49, 96, 136, MNV3_IDENTITY, true);     // a projection at 7x7; N over two tiles
    pointwise_case<T>(5, 13, 11, MNV3_IDENTITY, true);       // nothing a multiple of 8: the scalar paths
    pointwise_case<T>(3 * 49, 120, 40, MNV3_IDENTITY, true, 49);  // an SE projection: 3 images of 7x7
    pointwise_case<T>(2 * 9, 13, 24, MNV3_IDENTITY, false, 9);    // the same through the scalar staging
    pointwise_case<T>(130, 72, 40, MNV3_HARDSWISH, true, 0, false);  // no bias: the 8-wide epilogue
    pointwise_case<T>(5, 13, 11, MNV3_RELU, false, 5, false);        // no bias: the scalar epilogue, SE scale
}

}  // namespace

int main() {
    all_cases<__half>();
    all_cases<__nv_bfloat16>();
    return test::report();
}
