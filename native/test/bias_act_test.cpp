// The bias + activation kernels (bias_act.cu) on the CPU emulator, against plain loops in double,
// launched with the geometry of dev.mnv3.cuda.Kernels on the grids of test::grid_stride_grids.
//
// FP32 NCHW (in place, with and without the residual, NaN inputs that must reach the output):
// tolerance rel L2 1e-6. FP16/BF16 NHWC, both storage types: in place in T with V = 8 channels
// per thread when the channel count is a multiple of 8, else 1, at the tolerances of check.h;
// and the _f32 entries (T in, float out) at 1e-6.
#include "check.h"

#include "bias_act.cu"

using test::check;
using test::run;

namespace {

// ---- mnv3_bias_act

// y = act(y + bias[c]) (+ residual), in place; nan_every > 0 puts NaN into some inputs.
void bias_act_f32(int n, int c, int h, int w, int act, bool residual, int nan_every = 0) {
    long long total = (long long)n * c * h * w;
    std::vector<float> y0 = test::random(total, -5, 5), bias = test::random(c), res = test::random(total);
    for (int i = 0; nan_every > 0 && i < total; i += nan_every) y0[i] = NAN;
    std::vector<float> want(total);
    for (long long i = 0; i < total; i++)
        want[i] = (float)(test::activate((double)y0[i] + bias[i / (h * w) % c], act) + (residual ? res[i] : 0.0));
    for (auto& [grid_name, grid] : test::grid_stride_grids(total)) {
        std::string name = "mnv3_bias_act " + test::nchw(n, c, h, w) + " " + test::activation_name(act) +
                           (residual ? " +residual" : "") + (nan_every ? " NaN inputs" : "") + ", " + grid_name;
        run(name, [&] {
            std::vector<float> y = y0;
            emu::launch(grid, dim3(test::kBlock), mnv3_bias_act, y.data(), bias.data(),
                        residual ? res.data() : nullptr, c, h * w, total, act);
            check(name, y, want, test::kFp32);
        });
    }
}

// ---- mnv3_bias_act_<t>_v8, _v1, _f32

template <typename T>
struct BiasAct;
#define BIAS_ACT_TEST_ENTRIES(T, t)                                                                      \
    template <>                                                                                          \
    struct BiasAct<T> {                                                                                  \
        static constexpr auto v8 = mnv3_bias_act_##t##_v8, v1 = mnv3_bias_act_##t##_v1;                  \
        static constexpr auto f32 = mnv3_bias_act_##t##_f32;                                             \
    };
MNV3_FOR_EACH_16BIT(BIAS_ACT_TEST_ENTRIES)

// out = act(x + bias[c]) (+ residual): in place in T (_v8/_v1), or to float (_f32, V = 1).
template <typename T>
void bias_act_16bit(int n, int h, int w, int c, int act, bool residual, bool float_out) {
    const long long elements = (long long)n * h * w * c;
    const int v = float_out ? 1 : test::vector_width(c);
    const long long groups = elements / v;
    std::vector<T> x0 = test::random<T>(elements, -5, 5), res = test::random<T>(elements);
    std::vector<float> bias = test::random(c);
    std::vector<double> exact(elements);
    for (long long i = 0; i < elements; i++)
        exact[i] = test::activate((double)test::to_float(x0[i]) + bias[i % c], act) +
                   (residual ? test::to_float(res[i]) : 0.0);
    std::string entry = std::string("mnv3_bias_act_") + test::storage_name<T>() + (float_out ? "_f32" : v == 8 ? "_v8" : "_v1");
    for (auto& [grid_name, grid] : test::grid_stride_grids(groups)) {
        std::string name = entry + " " + test::nhwc(n, h, w, c) + " " + test::activation_name(act) +
                           (residual ? " +residual" : "") + ", " + grid_name;
        run(name, [&] {
            const T* r = residual ? res.data() : nullptr;
            if (float_out) {
                std::vector<float> out = test::poisoned<float>(elements);
                emu::launch(grid, dim3(test::kBlock), BiasAct<T>::f32, x0.data(), out.data(), bias.data(), r, c,
                            groups, act);
                check(name, out, test::stored<float>(exact), test::kFp32);
            } else {
                std::vector<T> x = x0;  // in place, as the plan runs it
                emu::launch(grid, dim3(test::kBlock), v == 8 ? BiasAct<T>::v8 : BiasAct<T>::v1, x.data(),
                            x.data(), bias.data(), r, c, groups, act);
                check(name, x, test::stored<T>(exact), test::tolerance<T>());
            }
        });
    }
}

template <typename T>
void all_types() {
    for (int act = MNV3_IDENTITY; act <= MNV3_HARDSIGMOID; act++) {
        bias_act_16bit<T>(2, 7, 7, 16, act, act % 2 == 0, false);
        bias_act_16bit<T>(1, 14, 14, 72, act, act % 2 == 1, false);  // 1764 groups of 8
        bias_act_16bit<T>(3, 5, 3, 20, act, true, false);            // 20 channels: V = 1
    }
    bias_act_16bit<T>(2, 1, 1, 1000, MNV3_IDENTITY, false, true);  // the logits, to float
    bias_act_16bit<T>(3, 2, 2, 24, MNV3_HARDSWISH, true, true);
}

}  // namespace

int main() {
    for (int act = MNV3_IDENTITY; act <= MNV3_HARDSIGMOID; act++) {
        bias_act_f32(2, 16, 14, 14, act, act % 2 == 0);
        bias_act_f32(1, 24, 28, 28, act, act % 2 == 1);  // 18816 elements: 2.3 passes per thread on one SM
        bias_act_f32(3, 5, 7, 9, act, true);
        bias_act_f32(2, 1280, 1, 1, act, false);
        bias_act_f32(1, 4, 3, 3, act, act == MNV3_HARDSWISH, 5);  // a NaN must reach the output
    }
    all_types<__half>();
    all_types<__nv_bfloat16>();
    return test::report();
}
