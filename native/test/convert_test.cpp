// The element type conversions (convert.cu) on the CPU emulator, bit for bit against the formats'
// definitions written out here (not CUDA's conversion functions, which the kernels call):
//
//   widening   every one of the 65536 __half and __nv_bfloat16 bit patterns
//   narrowing  for every pair of neighbouring 16-bit values, their midpoint (a tie, which goes to
//              the even one) and the floats just below and above it; zeros, infinities, NaNs
//              with payloads, the float extremes, the overflow threshold; random float bits
//
// NaN must stay NaN (any payload). Each narrowing case is guarded by the same reference with ties
// rounded away from zero, which must differ: the ties are really there and really go to even.
//
// The layout conversion mnv3_nchw_to_nhwc_<t> (float NCHW -> T NHWC, channels zero-padded), both
// storage types, on the grids of test::grid_stride_grids: against the input rounded once to T
// (the tolerances of check.h).
#include "check.h"

#include "convert.cu"

using test::check;
using test::check_exact;
using test::differs_in;
using test::run;

namespace {

float from_bits(uint32_t b) {
    float v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

// A 16-bit float format: `digits` significant bits (the implicit one included), the smallest
// normal exponent, the largest finite value.
struct Format {
    const char* name;
    int digits, min_exp;
    double max_finite;
};
constexpr Format kHalf{"f16", 11, -14, 65504.0};
const Format kBf16{"bf16", 8, -126, std::ldexp(255.0, 120)};  // (2 - 2^-7) * 2^127

// The value of 16-bit pattern h: sign, 5 or 8 exponent bits, the rest significand.
double decode(const Format& f, uint16_t h) {
    const int mantissa = f.digits - 1, exponent_bits = 15 - mantissa, bias = (1 << (exponent_bits - 1)) - 1;
    const int e = h >> mantissa & ((1 << exponent_bits) - 1), m = h & ((1 << mantissa) - 1);
    double v = e == 0                            ? std::ldexp((double)m, 1 - bias - mantissa)
               : e == (1 << exponent_bits) - 1 ? (m != 0 ? NAN : INFINITY)
                                                 : std::ldexp((double)(m | 1 << mantissa), e - bias - mantissa);
    return h & 0x8000 ? -v : v;
}

// v rounded to the format, to nearest; ties_even false rounds ties away from zero instead (the
// guard's wrong rounding). Overflow past the largest finite value gives infinity.
float round_to(const Format& f, float v, bool ties_even = true) {
    if (std::isnan(v) || std::isinf(v) || v == 0) return v;
    const double a = std::fabs((double)v);
    const int e = std::max(std::ilogb(a), f.min_exp);  // subnormals share the smallest exponent's spacing
    const double scaled = std::ldexp(a, f.digits - 1 - e);  // exact: a power-of-two scaling
    const double q = std::ldexp(ties_even ? std::nearbyint(scaled) : std::round(scaled), e - (f.digits - 1));
    return (float)std::copysign(q > f.max_finite ? INFINITY : q, (double)v);
}

template <typename T>
T from_pattern(uint16_t b) {
    if constexpr (std::is_same_v<T, __half>) {
        __half_raw r;
        r.x = b;
        return __half(r);
    } else {
        __nv_bfloat16_raw r;
        r.x = b;
        return __nv_bfloat16(r);
    }
}

template <typename T>
uint16_t pattern(T v) {
    uint16_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

// All 65536 patterns of T -> float.
template <typename T>
void widen(const Format& f, void (*kernel)(const T*, float*, long long)) {
    std::vector<T> x(65536);
    std::vector<float> want(x.size());
    for (uint32_t b = 0; b < x.size(); b++) {
        x[b] = from_pattern<T>((uint16_t)b);
        want[b] = (float)decode(f, (uint16_t)b);
    }
    for (auto& [grid_name, grid] : test::grid_stride_grids((long long)x.size())) {
        std::string name = std::string("mnv3_convert_to_f32_") + f.name + " all 65536 patterns, " + grid_name;
        run(name, [&] {
            std::vector<float> y = test::poisoned<float>(x.size());
            emu::launch(grid, dim3(test::kBlock), kernel, x.data(), y.data(), (long long)x.size());
            check_exact(name, y, want);
        });
    }
}

// The floats narrowing must get right: see the top of the file.
std::vector<float> narrowing_inputs(const Format& f) {
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> x = {0.f, -0.f, inf, -inf, from_bits(0x7fc00000u), from_bits(0x7f800001u), from_bits(0xffc12345u),
                            std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(),
                            (float)f.max_finite, (float)-f.max_finite};
    for (uint32_t b = 0; b < 0x8000u; b++) {  // every non-negative finite value and its successor
        const double lo = decode(f, (uint16_t)b);
        if (std::isnan(lo) || std::isinf(lo)) break;
        double hi = decode(f, (uint16_t)(b + 1));
        if (std::isinf(hi)) hi = 2 * lo - decode(f, (uint16_t)(b - 1));  // past the largest finite: the overflow tie
        const float tie = (float)((lo + hi) / 2);  // exact: one bit more than the format has
        for (float v : {tie, std::nextafter(tie, 0.f), std::nextafter(tie, inf)}) {
            x.push_back(v);
            x.push_back(-v);
        }
    }
    std::mt19937 rng(7);
    for (int i = 0; i < 100000; i++) x.push_back(from_bits((uint32_t)rng()));
    return x;
}

// float -> T, against round_to; guarded by ties away from zero.
template <typename T>
void narrow(const Format& f, void (*kernel)(const float*, T*, long long)) {
    const std::vector<float> x = narrowing_inputs(f);
    std::vector<float> want(x.size()), away(x.size());
    for (size_t i = 0; i < x.size(); i++) {
        want[i] = round_to(f, x[i]);
        away[i] = round_to(f, x[i], false);
    }
    const long long n = (long long)x.size();
    for (auto& [grid_name, grid] : test::grid_stride_grids(n)) {
        std::string name = std::string("mnv3_convert_from_f32_") + f.name + " " + std::to_string(n) + " values, " + grid_name;
        run(name, [&] {
            std::vector<T> y(x.size(), from_pattern<T>(0x1234));
            emu::launch(grid, dim3(test::kBlock), kernel, x.data(), y.data(), n);
            std::vector<float> got(y.size());
            for (size_t i = 0; i < y.size(); i++) got[i] = (float)decode(f, pattern(y[i]));
            if (check_exact(name, got, want)) differs_in(name + " vs ties away from zero", got, away, 1000);
        });
    }
}

// The reference itself, on values whose rounding is known by hand.
void reference_rounding() {
    const std::vector<std::pair<float, float>> half = {
        {1.f + std::ldexp(1.f, -11), 1.f},                                      // tie, to even (down)
        {1.f + 3 * std::ldexp(1.f, -11), 1.f + std::ldexp(1.f, -9)},             // tie, to even (up)
        {65519.f, 65504.f}, {65520.f, INFINITY}, {-65520.f, -INFINITY},           // the overflow threshold
        {std::ldexp(1.f, -25), 0.f}, {std::ldexp(1.5f, -25), std::ldexp(1.f, -24)},  // below the smallest subnormal
        {std::ldexp(3.f, -25), std::ldexp(1.f, -23)}, {-0.f, -0.f}};              // subnormal tie, to even (up)
    const std::vector<std::pair<float, float>> bf16 = {
        {from_bits(0x3f808000u), from_bits(0x3f800000u)}, {from_bits(0x3f818000u), from_bits(0x3f820000u)},
        {from_bits(0x3f808001u), from_bits(0x3f810000u)}, {std::numeric_limits<float>::max(), INFINITY},
        {from_bits(0x7f7f7fffu), from_bits(0x7f7f0000u)}, {from_bits(0x00018000u), from_bits(0x00020000u)}};
    for (auto [format, known] : {std::pair{kHalf, half}, std::pair{kBf16, bf16}}) {
        std::vector<float> got, want;
        for (auto [v, w] : known) {
            got.push_back(round_to(format, v));
            want.push_back(w);
        }
        check_exact(std::string("the test's rounding to ") + format.name + ", known values", got, want);
    }
    std::vector<float> got, want;  // decoding: 1, the smallest subnormal, the largest finite, -2, inf, NaN
    for (auto [b, w] : std::vector<std::pair<uint16_t, float>>{
             {0x3c00, 1.f}, {0x0001, std::ldexp(1.f, -24)}, {0x7bff, 65504.f}, {0xc000, -2.f}, {0x7c00, INFINITY}, {0x7e00, NAN}}) {
        got.push_back((float)decode(kHalf, b));
        want.push_back(w);
    }
    check_exact("the test's f16 decoding, known values", got, want);
}

// ---- mnv3_nchw_to_nhwc_<t>

template <typename T>
constexpr auto to_nhwc_kernel() {
    if constexpr (std::is_same_v<T, __half>) return mnv3_nchw_to_nhwc_f16;
    else return mnv3_nchw_to_nhwc_bf16;
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
    std::vector<float> want = test::stored<T>(exact);
    for (auto& [grid_name, grid] : test::grid_stride_grids(total)) {
        std::string name = std::string("mnv3_nchw_to_nhwc_") + test::storage_name<T>() + " N" + std::to_string(n) + " C" +
                           std::to_string(c) + "->" + std::to_string(padded) + " " + std::to_string(h) + "x" +
                           std::to_string(w) + ", " + grid_name;
        run(name, [&] {
            std::vector<T> y = test::poisoned<T>(total);
            emu::launch(grid, dim3(test::kBlock), to_nhwc_kernel<T>(), x.data(), y.data(), c, padded, plane, total);
            check(name, y, want, test::tolerance<T>());
        });
    }
}

}  // namespace

int main() {
    reference_rounding();
    widen<__half>(kHalf, mnv3_convert_to_f32_f16);
    widen<__nv_bfloat16>(kBf16, mnv3_convert_to_f32_bf16);
    narrow<__half>(kHalf, mnv3_convert_from_f32_f16);
    narrow<__nv_bfloat16>(kBf16, mnv3_convert_from_f32_bf16);
    for (auto to_nhwc_case : {to_nhwc<__half>, to_nhwc<__nv_bfloat16>}) {
        to_nhwc_case(2, 3, 9, 7, 8);  // the RGB input, padded to 8 channels
        to_nhwc_case(1, 16, 5, 5, 16);
    }
    return test::report();
}
