// The squeeze-excitation kernels (se.cu) on the CPU emulator, against plain loops in double,
// launched with the geometry of dev.mnv3.cuda.Kernels.
//
// mnv3_channel_scale (FP32 NCHW, in place): tolerance rel L2 1e-6, on the grids of
// test::grid_stride_grids. mnv3_channel_scale_<t>_* (T NHWC, in place), both storage types, V = 8
// channels per thread when the channel count is a multiple of 8, else 1: the tolerances of
// check.h. mnv3_se_fc (the SE partial sums to the float scale, one block per image): 1e-6.
#include "check.h"

#include "se.cu"

using test::check;
using test::run;

namespace {

// ---- mnv3_channel_scale

// x[n, c, :, :] *= scale[n, c], in place.
void channel_scale_f32(int n, int c, int h, int w) {
    long long total = (long long)n * c * h * w;
    std::vector<float> x0 = test::random(total), scale = test::random((size_t)n * c, 0, 1), want(total);
    for (long long i = 0; i < total; i++) want[i] = x0[i] * scale[i / (h * w)];
    for (auto& [grid_name, grid] : test::grid_stride_grids(total)) {
        std::string name = "mnv3_channel_scale " + test::nchw(n, c, h, w) + ", " + grid_name;
        run(name, [&] {
            std::vector<float> x = x0;
            emu::launch(grid, dim3(test::kBlock), mnv3_channel_scale, x.data(), scale.data(), h * w, total);
            check(name, x, want, test::kFp32);
        });
    }
}

// ---- mnv3_channel_scale_<t>_v8, _v1

template <typename T>
struct Scale;
#define SCALE_TEST_ENTRIES(T, t)                                                                         \
    template <>                                                                                          \
    struct Scale<T> {                                                                                    \
        static constexpr auto v8 = mnv3_channel_scale_##t##_v8, v1 = mnv3_channel_scale_##t##_v1;        \
    };
MNV3_FOR_EACH_16BIT(SCALE_TEST_ENTRIES)

// x [N, plane, C] *= scale [N, C], in place.
template <typename T>
void channel_scale_16bit(int n, int plane, int c) {
    const long long elements = (long long)n * plane * c;
    const int v = test::vector_width(c);
    const long long groups = elements / v;
    std::vector<T> x0 = test::random<T>(elements);
    std::vector<float> scale = test::random((size_t)n * c, 0, 1);
    std::vector<double> exact(elements);
    for (long long i = 0; i < elements; i++)
        exact[i] = (double)test::to_float(x0[i]) * scale[i / ((long long)plane * c) * c + i % c];
    for (auto& [grid_name, grid] : test::grid_stride_grids(groups)) {
        std::string name = std::string("mnv3_channel_scale_") + test::storage_name<T>() + "_v" + std::to_string(v) + " " +
                           test::nhwc(n, plane, 1, c) + ", " + grid_name;
        run(name, [&] {
            std::vector<T> x = x0;
            emu::launch(grid, dim3(test::kBlock), v == 8 ? Scale<T>::v8 : Scale<T>::v1, x.data(), scale.data(),
                        c, plane, groups);
            check(name, x, test::stored<T>(exact), test::tolerance<T>());
        });
    }
}

// ---- mnv3_se_fc

// SE: mean of partial [N, chunks, C] -> fc1 [S, C] + ReLU -> fc2 [C, S] + hard-sigmoid -> scale [N, C];
// one block of 256 threads per image.
void se_fc(int n, int c, int squeeze, int chunks, int pixels) {
    std::string name = "mnv3_se_fc N" + std::to_string(n) + " C" + std::to_string(c) + " S" + std::to_string(squeeze) +
                       " chunks " + std::to_string(chunks) + " pixels " + std::to_string(pixels);
    run(name, [&] {
        std::vector<float> partial = test::random((size_t)n * chunks * c, 0, (float)pixels / chunks);
        std::vector<float> w1 = test::random((size_t)squeeze * c), b1 = test::random(squeeze);
        std::vector<float> w2 = test::random((size_t)c * squeeze), b2 = test::random(c);
        std::vector<double> pooled((size_t)n * c, 0.0);
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < chunks; ch++)
                for (int j = 0; j < c; j++) pooled[(size_t)i * c + j] += partial[((size_t)i * chunks + ch) * c + j];
        for (double& p : pooled) p /= pixels;
        std::vector<double> hidden = test::reference_linear(n, c, squeeze, pooled, w1, b1, MNV3_RELU);
        std::vector<double> exact = test::reference_linear(n, squeeze, c, hidden, w2, b2, MNV3_HARDSIGMOID);
        std::vector<float> scale = test::poisoned<float>((size_t)n * c);
        emu::launch(dim3(n), dim3(test::kBlock), mnv3_se_fc, partial.data(), chunks, pixels, w1.data(), b1.data(),
                    w2.data(), b2.data(), scale.data(), c, squeeze);
        check(name, scale, test::stored<float>(exact), test::kFp32);
    });
}

template <typename T>
void all_types() {
    channel_scale_16bit<T>(2, 49, 72);
    channel_scale_16bit<T>(1, 196, 40);
    channel_scale_16bit<T>(3, 9, 20);
}

}  // namespace

int main() {
    channel_scale_f32(2, 16, 14, 14);
    channel_scale_f32(1, 40, 28, 28);
    channel_scale_f32(3, 5, 7, 9);
    channel_scale_f32(2, 960, 1, 1);
    all_types<__half>();
    all_types<__nv_bfloat16>();
    se_fc(2, 72, 24, 3, 49);
    se_fc(1, 120, 32, 5, 196);
    se_fc(3, 20, 5, 1, 9);  // fewer outputs than warps, channels not a multiple of 32
    return test::report();
}
