// What every kernel test needs: random inputs, NaN-poisoned outputs, the tolerances of each
// storage type, the references in double (reference.h), a rel-L2 or bit-for-bit comparison with
// a one-line report, the launch geometry the Java side uses, and an exit status.
//
// A test is a function that fills inputs, poisons the output, launches the kernel with
// emu::launch, computes the expected values with plain loops and calls check(); run() wraps it
// so an emulator error (a shuffle with an exited lane, a deadlock is an abort) fails that case.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda_emulation.h"
#include "reference.h"

namespace test {

// ---- data

inline float to_float(float v) { return v; }
inline float to_float(__half v) { return __half2float(v); }
inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
T from_float(float v) {
    if constexpr (std::is_same_v<T, __half>) return __float2half_rn(v);
    else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __float2bfloat16_rn(v);
    else return v;
}

// Uniform in [lo, hi), the same sequence every run.
template <typename T = float>
std::vector<T> random(size_t n, float lo = -1.f, float hi = 1.f) {
    static std::mt19937 rng(20240601);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<T> v(n);
    for (T& e : v) e = from_float<T>(dist(rng));
    return v;
}

// An output element the kernel never writes stays NaN, which check() reports.
template <typename T>
std::vector<T> poisoned(size_t n) {
    return std::vector<T>(n, from_float<T>(std::numeric_limits<float>::quiet_NaN()));
}

// He fan-in scaled uniform weights, as the network's.
inline std::vector<float> he_weights(size_t n, int fan_in) {
    const float bound = std::sqrt(6.f / (float)fan_in);
    return random(n, -bound, bound);
}

// ---- tolerances and the 16-bit storage types
//
// Values stored in float (FP32 kernels, the _f32 entries, SE partial sums and scales): rel L2 <=
// 1e-6 (float accumulation). A value stored in T (__half, __nv_bfloat16) is compared with the
// double reference rounded once to T (through float, as the kernels round their float result):
// rel L2 <= 1e-4 for __half and 1e-3 for __nv_bfloat16, a quarter of their unit roundoff (2^-11,
// 2^-8), so the odd one-ulp difference of a near tie passes and a wrong element or a second
// rounding does not.

constexpr double kFp32 = 1e-6;

template <typename T>
constexpr double tolerance() {
    if constexpr (std::is_same_v<T, __half>) return 1e-4;
    else if constexpr (std::is_same_v<T, __nv_bfloat16>) return 1e-3;
    else return kFp32;
}

// The suffix of T's kernels (dev.mnv3.cuda.Storage.kernelSuffix).
template <typename T>
constexpr const char* storage_name() {
    return std::is_same_v<T, __half> ? "f16" : "bf16";
}

// The reference's values as a kernel stores them in TO: float, then TO.
template <typename TO>
std::vector<float> stored(const std::vector<double>& exact) {
    std::vector<float> v(exact.size());
    for (size_t i = 0; i < v.size(); i++) v[i] = to_float(from_float<TO>((float)exact[i]));
    return v;
}

// Channels per thread of the NHWC kernels, as Kernels picks (ForwardPlan.vectorWidth).
inline int vector_width(int channels) { return channels % 8 == 0 ? 8 : 1; }

// ---- results

inline int checks = 0, failures = 0;

inline void fail(const std::string& name, const std::string& why) {
    failures++;
    std::printf("FAIL %s: %s\n", name.c_str(), why.c_str());
    std::fflush(stdout);  // a later case may abort (an emulated deadlock): keep what was printed
}

// ||got - want|| / ||want|| in double (the absolute norm when want is all zero), over the elements
// that are numbers in both; max_abs gets the largest |got - want|. nan_mismatch gets the first
// element that is NaN in only one of them, or stays -1.
template <typename T>
double rel_l2(const std::vector<T>& got, const std::vector<float>& want, double* max_abs = nullptr,
              long long* nan_mismatch = nullptr) {
    double diff = 0, norm = 0, largest = 0;
    if (nan_mismatch != nullptr) *nan_mismatch = -1;
    for (size_t i = 0; i < got.size() && i < want.size(); i++) {
        double g = to_float(got[i]), w = want[i];
        if (std::isnan(g) != std::isnan(w)) {
            if (nan_mismatch != nullptr && *nan_mismatch < 0) *nan_mismatch = (long long)i;
            continue;
        }
        if (std::isnan(w)) continue;
        diff += (g - w) * (g - w);
        norm += w * w;
        largest = std::max(largest, std::abs(g - w));
    }
    if (max_abs != nullptr) *max_abs = largest;
    return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

// Passes when ||got - want|| / ||want|| <= tolerance (in double). NaN must match NaN: an element
// that is NaN in only one of them (an element never written, or a NaN that did not propagate)
// fails whatever the tolerance.
template <typename T>
bool check(const std::string& name, const std::vector<T>& got, const std::vector<float>& want, double tolerance) {
    checks++;
    if (got.size() != want.size()) {
        fail(name, "size " + std::to_string(got.size()) + ", expected " + std::to_string(want.size()));
        return false;
    }
    double max_abs = 0;
    long long nan_at = -1;
    double rel = rel_l2(got, want, &max_abs, &nan_at);
    if (nan_at >= 0) {
        char text[128];
        std::snprintf(text, sizeof text, "element %lld of %zu is %g, expected %g", nan_at, got.size(),
                      (double)to_float(got[nan_at]), (double)want[nan_at]);
        fail(name, text);
        return false;
    }
    char text[128];
    std::snprintf(text, sizeof text, "rel L2 %.3g (tolerance %.0e), max abs %.3g, %zu elements", rel, tolerance, max_abs,
                  got.size());
    if (!(rel <= tolerance)) {
        fail(name, text);
        return false;
    }
    std::printf("ok   %s: %s\n", name.c_str(), text);
    std::fflush(stdout);
    return true;
}

// The guard of a parity check: passes when got is more than `margin` (rel L2) away from `other`,
// the expected values of a plausible mistake (an operand not rounded, a layout misread), so the
// check beside it, at a far tighter tolerance, is shown able to fail.
template <typename T>
bool differs(const std::string& name, const std::vector<T>& got, const std::vector<float>& other, double margin) {
    checks++;
    double rel = rel_l2(got, other);
    char text[128];
    std::snprintf(text, sizeof text, "rel L2 %.3g from the other result (must exceed %.0e)", rel, margin);
    if (!(rel > margin)) {
        fail(name, text);
        return false;
    }
    std::printf("ok   %s: %s\n", name.c_str(), text);
    std::fflush(stdout);
    return true;
}

// ---- bit-exact results (conversions, preprocessing: computed exactly as the host computes them)

// The bits of v; every NaN reads as the same one (a payload may change, NaN must stay NaN).
inline uint32_t bits(float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return std::isnan(v) ? 0x7fc00000u : b;
}

// How many elements of a and b differ in their bits; first gets the first one (or -1).
inline size_t count_different(const std::vector<float>& a, const std::vector<float>& b, long long* first = nullptr) {
    size_t n = 0;
    if (first != nullptr) *first = -1;
    for (size_t i = 0; i < a.size() && i < b.size(); i++) {
        if (bits(a[i]) == bits(b[i])) continue;
        if (n++ == 0 && first != nullptr) *first = (long long)i;
    }
    return n;
}

// Passes when got equals want bit for bit (-0 is not 0, any NaN matches any NaN).
inline bool check_exact(const std::string& name, const std::vector<float>& got, const std::vector<float>& want) {
    checks++;
    if (got.size() != want.size()) {
        fail(name, "size " + std::to_string(got.size()) + ", expected " + std::to_string(want.size()));
        return false;
    }
    long long first = -1;
    size_t wrong = count_different(got, want, &first);
    if (wrong > 0) {
        char text[200];
        std::snprintf(text, sizeof text, "%zu of %zu elements differ; element %lld is %.9g (bits 0x%08x), expected %.9g (bits 0x%08x)",
                      wrong, got.size(), first, (double)got[first], bits(got[first]), (double)want[first], bits(want[first]));
        fail(name, text);
        return false;
    }
    std::printf("ok   %s: %zu elements, bit for bit\n", name.c_str(), got.size());
    std::fflush(stdout);
    return true;
}

// The guard of a bit-exact check: passes when got differs from `other`, the result of a plausible
// mistake, in at least `at_least` elements, so the check beside it is shown able to fail.
inline bool differs_in(const std::string& name, const std::vector<float>& got, const std::vector<float>& other,
                       size_t at_least) {
    checks++;
    size_t n = count_different(got, other);
    char text[128];
    std::snprintf(text, sizeof text, "%zu of %zu elements differ from the other result (must be >= %zu)", n, got.size(),
                  at_least);
    if (n < at_least || got.size() != other.size()) {
        fail(name, text);
        return false;
    }
    std::printf("ok   %s: %s\n", name.c_str(), text);
    std::fflush(stdout);
    return true;
}

// Runs one case; an emulator error fails it (and the next cases still run).
inline void run(const std::string& name, const std::function<void()>& body) {
    try {
        body();
    } catch (const std::exception& e) {
        checks++;
        fail(name, e.what());
    }
}

// Prints the totals; the value is the exit status.
inline int report() {
    std::printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 && checks > 0 ? 0 : 1;
}

// ---- dev.mnv3.cuda.LaunchGeometry

constexpr unsigned kBlock = 256;
constexpr int kH100 = 132;  // multiprocessors: the largest grid elementwise() gives

inline dim3 elementwise(long long elements, int multiprocessors) {
    long long blocks = std::min((elements + kBlock - 1) / kBlock, (long long)std::max(1, multiprocessors) * 32);
    return dim3((unsigned)blocks);
}

inline dim3 warp_per_row(long long rows, int batch) {
    return dim3((unsigned)((rows + kBlock / 32 - 1) / (kBlock / 32)), (unsigned)batch);
}

// The grids a 1-D grid-stride kernel is tested with: as the Java side launches it on an H100 and
// on a one-SM GPU (when that differs), and three blocks, so every thread loops over the work.
inline std::vector<std::pair<std::string, dim3>> grid_stride_grids(long long elements) {
    dim3 h100 = elementwise(elements, kH100), one_sm = elementwise(elements, 1);
    std::vector<std::pair<std::string, dim3>> grids{{"grid " + std::to_string(h100.x), h100}};
    if (one_sm.x != h100.x) grids.push_back({"grid " + std::to_string(one_sm.x) + " (1 SM)", one_sm});
    grids.push_back({"grid 3", dim3(3)});
    return grids;
}

}  // namespace test
