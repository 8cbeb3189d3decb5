// The stem kernels (stem.cu) on the CPU emulator: a dense KxK conv + bias + act from the float
// NCHW input, against plain loops in double, launched as the Java launchers do.
//
// mnv3_conv_f32 (float NCHW): tolerance rel L2 1e-6 (float accumulation), each case guarded by
// the result of the filter read backwards; the shapes include 1x1s and a dilated 5x5. The
// FP16/BF16 stems (T NHWC): the reference rounded once to T (the tolerances of check.h),
// launched as Kernels.stem does (V = 8 output channels per thread when the count is a multiple
// of 8, else 1; a grid smaller than the work).
#include "check.h"

#include "stem.cu"

using test::check;
using test::differs;
using test::run;

namespace {

// ---- mnv3_conv_f32

// The expected values of a filter read backwards (each output channel's taps reversed): a layout mistake.
std::vector<float> reversed_taps(const test::DenseConv& s, std::vector<float> w) {
    const size_t taps = (size_t)s.cin * s.k * s.k;
    for (int o = 0; o < s.cout; o++) std::reverse(w.begin() + o * taps, w.begin() + (o + 1) * taps);
    return w;
}

std::vector<float> to_floats(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

void conv(const test::DenseConv& s, int act) {
    const int oh = s.out_h(), ow = s.out_w();
    const long long total = (long long)s.n * s.cout * oh * ow;
    std::vector<float> x = test::random((size_t)s.n * s.cin * s.h * s.w, -3.f, 3.f);
    std::vector<float> w = test::he_weights((size_t)s.cout * s.cin * s.k * s.k, s.cin * s.k * s.k);
    std::vector<float> bias = test::random(s.cout);
    std::vector<float> want = to_floats(test::reference_dense(s, x, w, bias, act));
    std::vector<float> misread = to_floats(test::reference_dense(s, x, reversed_taps(s, w), bias, act));
    for (auto& [grid_name, grid] : test::grid_stride_grids(total)) {
        std::string name = "mnv3_conv_f32 " + s.name() + " " + test::activation_name(act) + ", " + grid_name;
        run(name, [&] {
            std::vector<float> y = test::poisoned<float>(total);
            emu::launch(grid, dim3(test::kBlock), mnv3_conv_f32, x.data(), w.data(), bias.data(), y.data(), s.cin, s.h,
                        s.w, s.cout, oh, ow, s.k, s.stride, s.pad, s.dilation, act, total);
            check(name, y, want, test::kFp32);
            differs(name + ": guard, the filter read backwards", y, misread, 100 * test::kFp32);
        });
    }
}

// ---- mnv3_stem_<t>_v8, _v1

using Stem = test::DenseConv;

template <typename T>
struct Entries;
template <>
struct Entries<__half> {
    static constexpr auto v8 = mnv3_stem_f16_v8, v1 = mnv3_stem_f16_v1;
};
template <>
struct Entries<__nv_bfloat16> {
    static constexpr auto v8 = mnv3_stem_bf16_v8, v1 = mnv3_stem_bf16_v1;
};

template <typename T>
void stem(const Stem& s, int act, int multiprocessors) {
    const int oh = s.out_h(), ow = s.out_w(), v = s.cout % 8 == 0 ? 8 : 1;
    std::string name = std::string("stem ") + test::storage_name<T>() + " N" + std::to_string(s.n) + " " + std::to_string(s.cin) +
                       "->" + std::to_string(s.cout) + " " + std::to_string(s.h) + "x" + std::to_string(s.w) + " k" +
                       std::to_string(s.k) + " s" + std::to_string(s.stride) + " d" + std::to_string(s.dilation) + " " +
                       test::activation_name(act) + " on " + std::to_string(multiprocessors) + " SMs";
    run(name, [&] {
        std::vector<float> x = test::random<float>((size_t)s.n * s.cin * s.h * s.w, -3, 3);
        std::vector<float> w = test::random<float>((size_t)s.cout * s.cin * s.k * s.k, -0.5f, 0.5f);
        std::vector<float> bias = test::random<float>(s.cout);
        std::vector<T> y = test::poisoned<T>((size_t)s.n * oh * ow * s.cout);
        const long long groups = (long long)s.n * oh * ow * s.cout / v;
        emu::launch(test::elementwise(groups, multiprocessors), dim3(test::kBlock), v == 8 ? Entries<T>::v8 : Entries<T>::v1,
                    x.data(), w.data(), bias.data(), y.data(), s.cin, s.h, s.w, s.cout, oh, ow, s.k, s.stride, s.pad,
                    s.dilation, act, groups);
        std::vector<double> nchw = test::reference_dense(s, x, w, bias, act);
        std::vector<float> want(y.size());
        for (int n = 0; n < s.n; n++)
            for (int o = 0; o < s.cout; o++)
                for (int p = 0; p < oh * ow; p++)
                    want[((size_t)n * oh * ow + p) * s.cout + o] =
                        test::to_float(test::from_float<T>((float)nchw[((size_t)n * s.cout + o) * oh * ow + p]));
        check(name, y, want, test::tolerance<T>());
    });
}

template <typename T>
void all_cases() {
    stem<T>({2, 3, 33, 29, 16, 3, 2, 1, 1}, MNV3_HARDSWISH, 132);  // MobileNetV3's stem on an odd image
    stem<T>({1, 3, 20, 20, 16, 3, 2, 1, 1}, MNV3_HARDSWISH, 1);    // a grid smaller than the work
    stem<T>({1, 3, 17, 15, 12, 5, 1, 4, 2}, MNV3_RELU, 132);       // 12 channels (one at a time), dilation 2
}

}  // namespace

int main() {
    conv({2, 3, 37, 29, 16, 3, 2, 1, 1}, MNV3_HARDSWISH);  // MobileNetV3's stem on an odd image
    conv({1, 7, 17, 15, 13, 5, 1, 4, 2}, MNV3_RELU);       // k5, dilation 2, odd channel counts
    conv({2, 5, 11, 13, 9, 1, 1, 0, 1}, MNV3_IDENTITY);    // a 1x1
    conv({1, 4, 12, 10, 6, 1, 2, 0, 1}, MNV3_HARDSIGMOID); // a strided 1x1
    all_cases<__half>();
    all_cases<__nv_bfloat16>();
    return test::report();
}
