// The fused 1x1 convolutions (pointwise.cu) on the CPU emulator, against plain loops in double,
// launched with the geometry the Java launchers use; native/emulation/wmma_emulation.h stands in
// for the tensor cores.
//
// FP32 / TF32 (tolerance rel L2 1e-6, float accumulation). mnv3_pointwise_f32 is compared with
// W . (x * s) on the float operands; mnv3_pointwise_tf32 with the same on operands rounded as the
// kernel must round them (x * s in float, then to tf32 to nearest, ties away; W to tf32). Each
// case is guarded by the other precision's reference, which must be more than 30 times the
// tolerance away (hard-sigmoid's slope of 1/6 narrows the gap to about 1e-4), and the tf32 kernel
// must be more than 1e-4 from the f32 reference somewhere: the tf32 rounding is proven to happen
// (and not to happen in the f32 kernel) on every shape. The shapes cover whole and partial 64 x 64
// tiles, K not a multiple of the 16-wide K step, the float4 and scalar paths (P and K multiples of
// 4 or not, pointers 16-byte aligned or not), the SE scale, the residual, all four activations, a
// NaN input, and a grid with fewer z blocks than images. The rounding itself (the emulator's
// wmma::__float_to_tf32 and the twin here) is checked on values whose tf32 is known.
//
// FP16 / BF16: y = act(x W^T + bias) (+ residual), both storage types, against plain loops in
// double rounded once to T (the tolerances of check.h). Shapes cover whole and partial 64 x 64
// tiles, K that is not a multiple of the 32-wide K step, and channel counts that are not
// multiples of 8 (the scalar staging and epilogue paths); the grid is the one Kernels.pointwise
// launches. A null bias means none: those cases are also compared with the result a bias would
// give, which must be far off.
#include "check.h"

#include "pointwise.cu"

using test::check;
using test::differs;
using test::run;

namespace {

// ---- mnv3_pointwise_f32, mnv3_pointwise_tf32

constexpr double kPrecisionGap = 30 * test::kFp32;  // how far the other precision's reference must be
double largest_tf32_gap = 0;                   // the tf32 kernel's largest distance from the f32 reference

// The host twin of wmma::__float_to_tf32 (cvt.rna.tf32.f32), written out separately.
float tf32(float v) {
    if (std::isnan(v) || std::isinf(v)) return v;
    uint32_t b;
    std::memcpy(&b, &v, 4);
    b = (b + 0x1000u) & 0xffffe000u;
    std::memcpy(&v, &b, 4);
    return v;
}

// Round to nearest with ties away from zero, at 10 mantissa bits: the tie 1 + 2^-11 goes up, its
// neighbours below and above go to the nearer value, a subnormal keeps the same 10 bits of its
// field, infinities and NaN stay, FLT_MAX overflows. Compared bit for bit.
void tf32_rounding() {
    const float ulp = std::ldexp(1.f, -10), tie = 1.f + ulp / 2, inf = std::numeric_limits<float>::infinity();
    const float sub = std::ldexp(1.f, -130), sub_ulp = std::ldexp(1.f, -136);  // tf32 spacing of the field's bits
    const std::vector<std::pair<float, float>> known = {
        {tie, 1.f + ulp}, {-tie, -1.f - ulp}, {std::nextafter(tie, 0.f), 1.f}, {std::nextafter(tie, 2.f), 1.f + ulp},
        {1.f + ulp, 1.f + ulp}, {-0.f, -0.f}, {inf, inf}, {-inf, -inf}, {std::numeric_limits<float>::max(), inf},
        {sub + sub_ulp / 2, sub + sub_ulp}, {sub + sub_ulp / 2 - std::ldexp(1.f, -149), sub}, {NAN, NAN}};
    auto bits = [](float v) {
        uint32_t b;
        std::memcpy(&b, &v, 4);
        return std::isnan(v) ? 0x7fc00000u : b;  // any NaN
    };
    using Rounding = std::pair<const char*, float (*)(float)>;
    for (auto [name, round] : {Rounding{"wmma::__float_to_tf32", nvcuda::wmma::__float_to_tf32},
                               Rounding{"the test's tf32", tf32}}) {
        test::checks++;
        int wrong = 0;
        for (auto [v, want] : known) {
            if (bits(round(v)) == bits(want)) continue;
            wrong++;
            test::fail(name, "of " + std::to_string(v) + " (bits " + std::to_string(bits(v)) + ") gives bits " +
                                 std::to_string(bits(round(v))) + ", expected " + std::to_string(bits(want)));
        }
        if (wrong == 0) std::printf("ok   %s: %zu known values, bit for bit\n", name, known.size());
    }
}

struct Gemm {
    int images, K, Nc, P;
    std::string name() const {
        return "images " + std::to_string(images) + " K" + std::to_string(K) + " Nc" + std::to_string(Nc) + " P" +
               std::to_string(P);
    }
};

struct PointwiseCase {
    Gemm g;
    int act;
    bool residual, scaled;
    unsigned grid_z = 0;  // 0: min(images, 65535), as the launcher
    int offset = 0;       // floats every pointer is moved by: 1 leaves none 16-byte aligned
    bool nan_input = false;
};

// act(W . xs + bias) (+ residual) in double, xs = operand(x * s) rounded to float; w_operand the
// same for W (identity, or tf32).
std::vector<float> reference_pointwise(const PointwiseCase& c, const std::vector<float>& x, const std::vector<float>& w,
                                       const std::vector<float>& bias, const std::vector<float>& res,
                                       const std::vector<float>& scale, float (*operand)(float)) {
    const Gemm& g = c.g;
    std::vector<float> y((size_t)g.images * g.Nc * g.P);
    std::vector<double> xs((size_t)g.K * g.P);
    for (int n = 0; n < g.images; n++) {
        for (int k = 0; k < g.K; k++)
            for (int p = 0; p < g.P; p++) {
                float v = x[((size_t)n * g.K + k) * g.P + p];
                if (c.scaled) v *= scale[(size_t)n * g.K + k];
                xs[(size_t)k * g.P + p] = operand(v);
            }
        for (int o = 0; o < g.Nc; o++)
            for (int p = 0; p < g.P; p++) {
                double acc = 0;
                for (int k = 0; k < g.K; k++) acc += (double)operand(w[(size_t)o * g.K + k]) * xs[(size_t)k * g.P + p];
                size_t at = ((size_t)n * g.Nc + o) * g.P + p;
                double v = test::activate(acc + bias[o], c.act);
                if (c.residual) v += res[at];
                y[at] = (float)v;
            }
    }
    return y;
}

float identity(float v) { return v; }

using PointwiseKernel = void (*)(const float*, const float*, const float*, const float*, const float*, float*, int,
                                 int, int, int, int);

void pointwise(const char* kernel_name, PointwiseKernel kernel, bool tensor_cores, const PointwiseCase& c) {
    const Gemm& g = c.g;
    const unsigned grid_z = c.grid_z > 0 ? c.grid_z : (unsigned)std::min(g.images, 65535);
    std::string name = std::string(kernel_name) + " " + g.name() + " " + test::activation_name(c.act) +
                       (c.residual ? " +residual" : "") + (c.scaled ? " +SE scale" : "") +
                       (c.offset ? " unaligned" : "") + (c.nan_input ? " NaN input" : "") + ", grid z " +
                       std::to_string(grid_z);
    run(name, [&] {
        const size_t xn = (size_t)g.images * g.K * g.P, yn = (size_t)g.images * g.Nc * g.P;
        // each buffer has `offset` spare floats in front, so an offset of 1 misaligns every pointer
        std::vector<float> x = test::random(c.offset + xn, -2.f, 2.f);
        std::vector<float> w = test::he_weights(c.offset + (size_t)g.Nc * g.K, g.K);
        std::vector<float> bias = test::random(g.Nc), res = test::random(c.offset + yn);
        std::vector<float> scale = test::random((size_t)g.images * g.K, 0.f, 1.f);  // hard-sigmoid's range
        if (c.nan_input) x[c.offset + xn / 2] = NAN;
        std::vector<float> y = test::poisoned<float>(c.offset + yn);
        dim3 grid((unsigned)((g.P + 63) / 64), (unsigned)((g.Nc + 63) / 64), grid_z);
        emu::launch(grid, dim3(128), kernel, x.data() + c.offset, w.data() + c.offset, bias.data(),
                    c.residual ? res.data() + c.offset : nullptr, c.scaled ? scale.data() : nullptr,
                    y.data() + c.offset, g.images, g.K, g.Nc, g.P, c.act);
        x.erase(x.begin(), x.begin() + c.offset);
        w.erase(w.begin(), w.begin() + c.offset);
        res.erase(res.begin(), res.begin() + c.offset);
        y.erase(y.begin(), y.begin() + c.offset);
        std::vector<float> want_f32 = reference_pointwise(c, x, w, bias, res, scale, identity);
        std::vector<float> want_tf32 = reference_pointwise(c, x, w, bias, res, scale, tf32);
        check(name, y, tensor_cores ? want_tf32 : want_f32, test::kFp32);
        differs(name + ": guard, the " + (tensor_cores ? "f32" : "tf32") + " reference", y,
                tensor_cores ? want_f32 : want_tf32, kPrecisionGap);
        if (tensor_cores) largest_tf32_gap = std::max(largest_tf32_gap, test::rel_l2(y, want_f32));
    });
}

void pointwise_cases(const char* kernel_name, PointwiseKernel kernel, bool tensor_cores) {
    const std::vector<PointwiseCase> cases = {
        {{2, 13, 24, 49}, MNV3_HARDSWISH, true, false},         // nothing a multiple of 4: the scalar paths
        {{1, 16, 64, 64}, MNV3_RELU, false, false},             // one whole tile, one K step
        {{2, 72, 40, 100}, MNV3_HARDSIGMOID, false, true},      // float4 paths, partial tiles, K 4.5 steps
        {{5, 40, 24, 196}, MNV3_IDENTITY, true, true, 2},       // 5 images on 2 z blocks: the image loop
        {{2, 72, 72, 196}, MNV3_HARDSWISH, true, true, 0, 1},   // multiples of 4 but unaligned: scalar paths
        {{2, 24, 72, 100}, MNV3_RELU, true, false, 0, 0, true}, // a NaN reaches every output of its pixel
        {{1, 960, 1280, 49}, MNV3_HARDSWISH, false, false},     // the last conv at 7x7: 60 K steps, 20 c tiles
        {{1, 576, 96, 49}, MNV3_IDENTITY, true, true},          // a projection with SE at 7x7
    };
    for (const PointwiseCase& c : cases) pointwise(kernel_name, kernel, tensor_cores, c);
}

// ---- mnv3_pointwise_f16, mnv3_pointwise_bf16

template <typename T>
constexpr auto kernel_16bit() {
    if constexpr (std::is_same_v<T, __half>) return mnv3_pointwise_f16;
    else return mnv3_pointwise_bf16;
}

template <typename T>
void pointwise_case(long long m, int k, int n, int act, bool with_residual, int rows_per_image = 0,
                    bool with_bias = true) {
    const bool scaled = rows_per_image > 0;  // the SE scale of each image applied to x first
    std::string name = std::string("pointwise ") + test::storage_name<T>() + " M" + std::to_string(m) + " K" +
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
        emu::launch(grid, dim3(128), kernel_16bit<T>(), x.data(), w.data(), with_bias ? bias.data() : nullptr,
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
        check(name, y, want, test::tolerance<T>());
        if (!with_bias)
            test::differs(name + ": guard, with the bias", y, expected(true), 100 * test::tolerance<T>());
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
    tf32_rounding();
    pointwise_cases("mnv3_pointwise_f32", mnv3_pointwise_f32, false);
    pointwise_cases("mnv3_pointwise_tf32", mnv3_pointwise_tf32, true);
    test::checks++;
    if (largest_tf32_gap > 1e-4) {
        std::printf("ok   mnv3_pointwise_tf32 is %.3g from the f32 reference at most (must exceed 1e-4)\n",
                    largest_tf32_gap);
    } else {
        test::fail("mnv3_pointwise_tf32", "at most " + std::to_string(largest_tf32_gap) +
                                              " from the f32 reference: its operands were not rounded to tf32");
    }
    all_cases<__half>();
    all_cases<__nv_bfloat16>();
    return test::report();
}
