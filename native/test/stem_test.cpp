// The stem kernel of the FP16/BF16 path (mnv3_stem_* in nhwc.cu) on the CPU emulator: a dense KxK
// conv + bias + act from the float NCHW input to T NHWC, against plain loops in double rounded
// once to T (the tolerances of nhwc_test.cpp), launched as Kernels.stem does (V = 8 output
// channels per thread when the count is a multiple of 8, else 1; a grid smaller than the work).
#include "check.h"

#include "nhwc.cu"

using test::check;
using test::run;

namespace {

using Stem = test::DenseConv;

template <typename T>
struct Entries;
template <>
struct Entries<__half> {
    static constexpr const char* name = "f16";
    static constexpr double tolerance = 1e-4;
    static constexpr auto v8 = mnv3_stem_f16_v8, v1 = mnv3_stem_f16_v1;
};
template <>
struct Entries<__nv_bfloat16> {
    static constexpr const char* name = "bf16";
    static constexpr double tolerance = 1e-3;
    static constexpr auto v8 = mnv3_stem_bf16_v8, v1 = mnv3_stem_bf16_v1;
};

template <typename T>
void stem(const Stem& s, int act, int multiprocessors) {
    const int oh = s.out_h(), ow = s.out_w(), v = s.cout % 8 == 0 ? 8 : 1;
    std::string name = std::string("stem ") + Entries<T>::name + " N" + std::to_string(s.n) + " " + std::to_string(s.cin) +
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
        check(name, y, want, Entries<T>::tolerance);
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
    all_cases<__half>();
    all_cases<__nv_bfloat16>();
    return test::report();
}
