// The global average pool kernels (pool.cu) on the CPU emulator, against plain loops in double,
// launched with the geometry of dev.mnv3.cuda.Kernels.
//
// mnv3_global_avg_pool (float [planes, plane], one warp per plane): tolerance rel L2 1e-6.
// mnv3_global_avg_pool_nhwc_<t>_* (T NHWC), both storage types, on the grids of
// test::grid_stride_grids: to T with V = 8 channels per thread when the channel count is a
// multiple of 8, else 1, at the tolerances of check.h; to float (_f32) at 1e-6.
#include "check.h"

#include "pool.cu"

using test::check;
using test::run;

namespace {

// ---- mnv3_global_avg_pool

// x [planes, plane] -> y [planes], launched as Kernels does: warpPerRow(planes, 1).
void global_avg_pool_f32(int planes, int plane) {
    std::string name = "mnv3_global_avg_pool planes " + std::to_string(planes) + " plane " + std::to_string(plane);
    run(name, [&] {
        std::vector<float> x = test::random((size_t)planes * plane), y = test::poisoned<float>(planes), want(planes);
        for (int p = 0; p < planes; p++) {
            double sum = 0;
            for (int i = 0; i < plane; i++) sum += x[(size_t)p * plane + i];
            want[p] = (float)(sum / plane);
        }
        emu::launch(test::warp_per_row(planes, 1), dim3(test::kBlock), mnv3_global_avg_pool, x.data(), y.data(), planes,
                    plane);
        check(name, y, want, test::kFp32);
    });
}

// ---- mnv3_global_avg_pool_nhwc_<t>_v8, _v1, _f32

template <typename T>
struct Pool;
#define POOL_TEST_ENTRIES(T, t)                                                                          \
    template <>                                                                                          \
    struct Pool<T> {                                                                                     \
        static constexpr auto v8 = mnv3_global_avg_pool_nhwc_##t##_v8;                                   \
        static constexpr auto v1 = mnv3_global_avg_pool_nhwc_##t##_v1;                                   \
        static constexpr auto f32 = mnv3_global_avg_pool_nhwc_##t##_f32;                                 \
    };
MNV3_FOR_EACH_16BIT(POOL_TEST_ENTRIES)

// y [N, C] = mean over the plane of x [N, plane, C]; in T (_v8/_v1) or float (_f32).
template <typename T>
void global_avg_pool_16bit(int n, int plane, int c, bool float_out) {
    const int v = float_out ? 1 : test::vector_width(c);
    const long long groups = (long long)n * c / v;
    std::vector<T> x = test::random<T>((size_t)n * plane * c);
    std::vector<double> exact((size_t)n * c, 0.0);
    for (int i = 0; i < n; i++)
        for (int p = 0; p < plane; p++)
            for (int ch = 0; ch < c; ch++) exact[(size_t)i * c + ch] += test::to_float(x[((size_t)i * plane + p) * c + ch]);
    for (double& e : exact) e /= plane;
    std::string entry = std::string("mnv3_global_avg_pool_nhwc_") + test::storage_name<T>() +
                        (float_out ? "_f32" : v == 8 ? "_v8" : "_v1");
    for (auto& [grid_name, grid] : test::grid_stride_grids(groups)) {
        std::string name = entry + " " + test::nhwc(n, plane, 1, c) + ", " + grid_name;
        run(name, [&] {
            if (float_out) {
                std::vector<float> y = test::poisoned<float>(exact.size());
                emu::launch(grid, dim3(test::kBlock), Pool<T>::f32, x.data(), y.data(), c, plane, groups);
                check(name, y, test::stored<float>(exact), test::kFp32);
            } else {
                std::vector<T> y = test::poisoned<T>(exact.size());
                emu::launch(grid, dim3(test::kBlock), v == 8 ? Pool<T>::v8 : Pool<T>::v1, x.data(), y.data(), c,
                            plane, groups);
                check(name, y, test::stored<T>(exact), test::tolerance<T>());
            }
        });
    }
}

template <typename T>
void all_types() {
    global_avg_pool_16bit<T>(2, 49, 96, false);
    global_avg_pool_16bit<T>(3, 9, 20, false);
    global_avg_pool_16bit<T>(2, 49, 960, true);
    global_avg_pool_16bit<T>(1, 1, 8, false);
}

}  // namespace

int main() {
    global_avg_pool_f32(32, 49);
    global_avg_pool_f32(13, 1);
    global_avg_pool_f32(9, 200);    // the block's last 7 warps have no plane and return
    global_avg_pool_f32(40, 7);     // fewer elements than lanes
    global_avg_pool_f32(32, 3136);  // 56x56
    all_types<__half>();
    all_types<__nv_bfloat16>();
    return test::report();
}
