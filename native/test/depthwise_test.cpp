// The depthwise kernels (depthwise.cu) on the CPU emulator, against plain loops in double
// (test::reference_depthwise, NCHW: a test converts its layouts to it).
//
// FP32 NCHW: every shape through mnv3_depthwise, and through mnv3_depthwise3/5 where k matches,
// on the grids of dev.mnv3.cuda.Kernels; tolerance rel L2 1e-6 (float accumulation). FP16/BF16
// NHWC: both storage types, V = 8 channels per thread when the channel count is a multiple of 8,
// else 1, on the grid of LaunchGeometry.depthwiseNhwc for an H100 and for one SM, with and
// without the SE partial sums; outputs at the tolerances of check.h, partial sums at 1e-6.
#include "check.h"

#include "depthwise.cu"

using test::check;
using test::run;

namespace {

// ---- mnv3_depthwise, mnv3_depthwise3, mnv3_depthwise5

// Every shape through mnv3_depthwise, and through mnv3_depthwise3/5 where k matches (as Kernels picks).
void depthwise_f32(const test::Conv& s, int act) {
    const int oh = s.out_h(), ow = s.out_w();
    const long long total = (long long)s.n * s.c * oh * ow;
    std::vector<float> x = test::random((size_t)s.n * s.c * s.h * s.w), wt = test::random((size_t)s.c * s.k * s.k),
                       bias = test::random(s.c);
    std::vector<double> exact = test::reference_depthwise(s, x, wt, bias, act);
    std::vector<float> want(exact.begin(), exact.end());
    std::vector<std::pair<std::string, void (*)(const float*, const float*, const float*, float*, int, int, int, int,
                                                  int, int, int, int, int, int, long long)>>
        entries{{"mnv3_depthwise", mnv3_depthwise}};
    if (s.k == 3) entries.push_back({"mnv3_depthwise3", mnv3_depthwise3});
    if (s.k == 5) entries.push_back({"mnv3_depthwise5", mnv3_depthwise5});
    for (auto& [entry, kernel] : entries)
        for (auto& [grid_name, grid] : test::grid_stride_grids(total)) {
            std::string name = entry + " " + s.name() + " " + test::activation_name(act) + ", " + grid_name;
            run(name, [&] {
                std::vector<float> y = test::poisoned<float>(total);
                emu::launch(grid, dim3(test::kBlock), kernel, x.data(), wt.data(), bias.data(), y.data(), s.c, s.h, s.w,
                            oh, ow, s.k, s.stride, s.pad, s.dilation, act, total);
                check(name, y, want, test::kFp32);
            });
        }
}

// ---- mnv3_depthwise_<t>_*

template <typename T>
struct Depthwise;
#define DEPTHWISE_TEST_ENTRIES(T, t)                                                                     \
    template <>                                                                                          \
    struct Depthwise<T> {                                                                                \
        static constexpr auto v8_k3 = mnv3_depthwise_##t##_v8_k3, v8_k5 = mnv3_depthwise_##t##_v8_k5;    \
        static constexpr auto v8_k0 = mnv3_depthwise_##t##_v8_k0, v1_k0 = mnv3_depthwise_##t##_v1_k0;    \
    };
MNV3_FOR_EACH_16BIT(DEPTHWISE_TEST_ENTRIES)

// dev.mnv3.cuda.LaunchGeometry.depthwiseNhwc: block (channel groups, pixel rows), grid (1, chunks, N).
std::pair<dim3, dim3> depthwise_geometry(int groups, long long pixels, int batch, int multiprocessors) {
    int bx = std::min(groups, (int)test::kBlock), by = std::max(1, (int)test::kBlock / bx);
    long long wanted = ((long long)multiprocessors * 32 / 4 + batch - 1) / batch;
    long long chunks = std::max(1LL, std::min(wanted, std::min((pixels + by - 1) / by, 65535LL)));
    return {dim3(1, (unsigned)chunks, (unsigned)batch), dim3(bx, by)};
}

// Depthwise over NHWC, w tap-major [K*K, C]; with the SE partial sums [N, chunks, C] and without.
template <typename T>
void depthwise_16bit(const test::Conv& s, int act) {
    const int v = test::vector_width(s.c), groups = s.c / v, oh = s.out_h(), ow = s.out_w(), pixels = oh * ow;
    const int k = v == 8 && (s.k == 3 || s.k == 5) ? s.k : 0;  // as Kernels.depthwiseName picks
    auto kernel = v == 1 ? Depthwise<T>::v1_k0
                  : k == 3 ? Depthwise<T>::v8_k3
                  : k == 5 ? Depthwise<T>::v8_k5
                           : Depthwise<T>::v8_k0;
    std::vector<T> x = test::random<T>((size_t)s.n * s.h * s.w * s.c);
    std::vector<float> w = test::random((size_t)s.k * s.k * s.c), bias = test::random(s.c);
    // The reference takes NCHW and [C, K, K].
    std::vector<float> x_nchw(x.size()), w_ckk(w.size());
    for (int n = 0; n < s.n; n++)
        for (int p = 0; p < s.h * s.w; p++)
            for (int c = 0; c < s.c; c++)
                x_nchw[((size_t)n * s.c + c) * s.h * s.w + p] = test::to_float(x[((size_t)n * s.h * s.w + p) * s.c + c]);
    for (int t = 0; t < s.k * s.k; t++)
        for (int c = 0; c < s.c; c++) w_ckk[(size_t)c * s.k * s.k + t] = w[(size_t)t * s.c + c];
    std::vector<double> exact_nchw = test::reference_depthwise(s, x_nchw, w_ckk, bias, act), exact(exact_nchw.size());
    for (int n = 0; n < s.n; n++)
        for (int p = 0; p < pixels; p++)
            for (int c = 0; c < s.c; c++)
                exact[((size_t)n * pixels + p) * s.c + c] = exact_nchw[((size_t)n * s.c + c) * pixels + p];
    std::vector<float> want = test::stored<T>(exact);

    for (int multiprocessors : {test::kH100, 1}) {
        auto [grid, block] = depthwise_geometry(groups, pixels, s.n, multiprocessors);
        const int chunks = (int)grid.y;
        for (bool with_partial : {true, false}) {
            std::string name = std::string("mnv3_depthwise_") + test::storage_name<T>() + "_v" + std::to_string(v) + "_k" +
                               std::to_string(k) + " " + s.name() + " " + test::activation_name(act) + ", block (" +
                               std::to_string(block.x) + "," + std::to_string(block.y) + ") chunks " +
                               std::to_string(chunks) + (with_partial ? " +SE partial sums" : "");
            run(name, [&] {
                std::vector<T> y = test::poisoned<T>(want.size());
                std::vector<float> partial = test::poisoned<float>((size_t)s.n * chunks * s.c);
                emu::launch(grid, block, kernel, x.data(), w.data(), bias.data(), y.data(),
                            with_partial ? partial.data() : nullptr, s.c, s.h, s.w, oh, ow, s.k, s.stride, s.pad,
                            s.dilation, act);
                if (!check(name, y, want, test::tolerance<T>()) || !with_partial) return;
                // Block (0, chunk, n) sums the outputs it stored: pixels chunk*by + ty, stepping chunks*by.
                std::vector<double> sums(partial.size(), 0.0);
                for (int n = 0; n < s.n; n++)
                    for (int p = 0; p < pixels; p++)
                        for (int c = 0; c < s.c; c++)
                            sums[((size_t)n * chunks + p / block.y % chunks) * s.c + c] +=
                                test::to_float(y[((size_t)n * pixels + p) * s.c + c]);
                check(name + ": partial sums", partial, test::stored<float>(sums), test::kFp32);
            });
        }
    }
}

template <typename T>
void all_types() {
    const test::Conv convs[] = {
        {1, 16, 14, 14, 3, 1, 1, 1},
        {2, 24, 15, 13, 3, 2, 1, 1},  // odd sizes, stride 2
        {1, 40, 11, 11, 5, 1, 2, 1},
        {2, 16, 9, 7, 5, 2, 2, 1},
        {1, 16, 14, 14, 3, 1, 2, 2},  // dilation 2
        {1, 8, 9, 9, 7, 1, 3, 1},     // k 7: the generic _k0
        {1, 20, 10, 10, 3, 2, 1, 1},  // 20 channels: V = 1
        {2, 260, 5, 5, 3, 1, 1, 1},   // 260 groups of 1: two channel passes of a 256-wide block
        {1, 2112, 3, 3, 5, 1, 2, 1},  // 264 groups of 8: the same with V = 8
    };
    int act = 0;
    for (const test::Conv& s : convs) depthwise_16bit<T>(s, act++ % 4);
}

}  // namespace

int main() {
    const test::Conv convs[] = {
        {1, 16, 14, 14, 3, 1, 1, 1},
        {2, 8, 15, 13, 3, 2, 1, 1},   // odd sizes, stride 2
        {2, 24, 28, 28, 3, 1, 1, 1},  // 37632 outputs: several grid-stride passes
        {1, 4, 10, 10, 3, 2, 0, 1},   // no padding
        {1, 8, 14, 14, 3, 1, 2, 2},   // dilation 2 (output stride 16)
        {1, 8, 11, 11, 5, 1, 2, 1},
        {2, 6, 17, 9, 5, 2, 2, 1},
        {1, 4, 13, 13, 5, 1, 4, 2},
        {1, 2, 3, 3, 5, 2, 2, 1},     // window larger than the map
        {2, 3, 9, 7, 7, 2, 3, 1},     // k 7 and k 1: only the generic kernel
        {1, 5, 6, 6, 1, 1, 0, 1},
    };
    int act = 0;
    for (const test::Conv& s : convs) depthwise_f32(s, act++ % 4);

    all_types<__half>();
    all_types<__nv_bfloat16>();
    return test::report();
}
