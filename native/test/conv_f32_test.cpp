// The FP32 dense convolution (mnv3_conv_f32 in conv_f32.cu) on the CPU emulator, against plain
// loops in double, launched with the geometry the Java launcher uses. Tolerance: rel L2 1e-6
// (float accumulation); each case is guarded by the result of the filter read backwards.
#include "check.h"

#include "conv_f32.cu"

using test::check;
using test::differs;
using test::run;

namespace {

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

}  // namespace

int main() {
    conv({2, 3, 37, 29, 16, 3, 2, 1, 1}, MNV3_HARDSWISH);  // MobileNetV3's stem on an odd image
    conv({1, 7, 17, 15, 13, 5, 1, 4, 2}, MNV3_RELU);       // k5, dilation 2, odd channel counts
    conv({2, 5, 11, 13, 9, 1, 1, 0, 1}, MNV3_IDENTITY);    // a 1x1
    conv({1, 4, 12, 10, 6, 1, 2, 0, 1}, MNV3_HARDSIGMOID); // a strided 1x1
    return test::report();
}
