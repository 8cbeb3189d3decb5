// Every kernel of native/*.cu on the CPU emulation, as a shared library the JVM calls through FFM:
// java/cuda's tests launch the kernels with the real Java launchers (KernelLaunchers), whose
// launcher hands mnv3_emu_launch the kernel's name, its geometry and the void** argument array
// cuLaunchKernel would take. Host memory stands in for device memory: a "device pointer" is a host
// address. Built by CMake (native/test/CMakeLists.txt) over a generated header that includes every
// native/*.cu, so the kernel files may be regrouped freely; the table below names the entry
// points, and the Java test checks it against the names the launchers use.
#include "cuda_emulation.h"
#include "emulated_kernels_unity.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

namespace {

template <typename P>
constexpr bool unsupported_parameter = false;

// A parameter's C type under the name KernelArgs gives it (PTR, I32, I64, F32).
template <typename P>
constexpr const char* parameter_type() {
    if constexpr (std::is_pointer_v<P>) return "PTR";
    else if constexpr (std::is_same_v<P, int>) return "I32";
    else if constexpr (std::is_same_v<P, long long>) return "I64";
    else if constexpr (std::is_same_v<P, float>) return "F32";
    else static_assert(unsupported_parameter<P>, "a kernel parameter type that KernelArgs cannot pass");
}

template <typename... P>
std::string signature_of(void (*)(P...)) {
    std::string s;
    ((s += (s.empty() ? "" : " "), s += parameter_type<P>()), ...);
    return s;
}

template <typename... P>
constexpr int arity_of(void (*)(P...)) {
    return (int)sizeof...(P);
}

// args[i] points to the value of parameter i, as for cuLaunchKernel.
template <typename... P>
void launch_unpacked(void (*kernel)(P...), dim3 grid, dim3 block, void** args) {
    [&]<size_t... I>(std::index_sequence<I...>) {
        emu::launch(grid, block, kernel, *static_cast<std::remove_cv_t<P>*>(args[I])...);
    }(std::index_sequence_for<P...>{});
}

struct Kernel {
    const char* name;
    std::string signature;
    int arity;
    void (*launch)(dim3 grid, dim3 block, void** args);
};

template <auto kernel>
void launch_kernel(dim3 grid, dim3 block, void** args) {
    launch_unpacked(kernel, grid, block, args);
}

#define MNV3_EMU_KERNEL(k) Kernel{#k, signature_of(k), arity_of(k), launch_kernel<k>}
// The entry points of one 16-bit storage type t (f16, bf16), as native/ instantiates them.
#define MNV3_EMU_NHWC_KERNELS(t)                                                                                 \
    MNV3_EMU_KERNEL(mnv3_nchw_to_nhwc_##t), MNV3_EMU_KERNEL(mnv3_stem_##t##_v8), MNV3_EMU_KERNEL(mnv3_stem_##t##_v1), \
        MNV3_EMU_KERNEL(mnv3_bias_act_##t##_v8), MNV3_EMU_KERNEL(mnv3_bias_act_##t##_v1),                          \
        MNV3_EMU_KERNEL(mnv3_bias_act_##t##_f32), MNV3_EMU_KERNEL(mnv3_depthwise_##t##_v8_k3),                     \
        MNV3_EMU_KERNEL(mnv3_depthwise_##t##_v8_k5), MNV3_EMU_KERNEL(mnv3_depthwise_##t##_v8_k0),                  \
        MNV3_EMU_KERNEL(mnv3_depthwise_##t##_v1_k0), MNV3_EMU_KERNEL(mnv3_channel_scale_##t##_v8),                 \
        MNV3_EMU_KERNEL(mnv3_channel_scale_##t##_v1), MNV3_EMU_KERNEL(mnv3_global_avg_pool_nhwc_##t##_v8),         \
        MNV3_EMU_KERNEL(mnv3_global_avg_pool_nhwc_##t##_v1), MNV3_EMU_KERNEL(mnv3_global_avg_pool_nhwc_##t##_f32), \
        MNV3_EMU_KERNEL(mnv3_pointwise_##t)

const Kernel kernels[] = {
    MNV3_EMU_KERNEL(mnv3_bias_act),
    MNV3_EMU_KERNEL(mnv3_depthwise),
    MNV3_EMU_KERNEL(mnv3_depthwise3),
    MNV3_EMU_KERNEL(mnv3_depthwise5),
    MNV3_EMU_KERNEL(mnv3_global_avg_pool),
    MNV3_EMU_KERNEL(mnv3_linear),
    MNV3_EMU_KERNEL(mnv3_channel_scale),
    MNV3_EMU_KERNEL(mnv3_pointwise_f32),
    MNV3_EMU_KERNEL(mnv3_pointwise_tf32),
    MNV3_EMU_KERNEL(mnv3_conv_f32),
    MNV3_EMU_KERNEL(mnv3_convert_to_f32_f16),
    MNV3_EMU_KERNEL(mnv3_convert_to_f32_bf16),
    MNV3_EMU_KERNEL(mnv3_convert_from_f32_f16),
    MNV3_EMU_KERNEL(mnv3_convert_from_f32_bf16),
    MNV3_EMU_KERNEL(mnv3_preprocess_rows),
    MNV3_EMU_KERNEL(mnv3_preprocess_cols),
    MNV3_EMU_KERNEL(mnv3_se_fc),
    MNV3_EMU_NHWC_KERNELS(f16),
    MNV3_EMU_NHWC_KERNELS(bf16),
};

const Kernel* find(const char* name) {
    for (const Kernel& k : kernels) {
        if (name != nullptr && std::strcmp(k.name, name) == 0) return &k;
    }
    return nullptr;
}

// The emulator turns a kernel's __shared__ arrays into statics, one copy per kernel for the whole
// process, so two launches must never overlap.
std::mutex launches;

int fail(char* error, size_t capacity, const std::string& message) {
    if (error != nullptr && capacity > 0) std::snprintf(error, capacity, "%s", message.c_str());
    return 1;
}

}  // namespace

extern "C" {

// Runs kernel on grid (gx, gy, gz) of blocks (bx, by) and returns 0, or returns 1 with a one-line
// message in error (truncated to capacity) for an unknown kernel, a wrong argument count, a
// geometry the emulator refuses, dynamic shared memory, or a CUDA rule the kernel broke.
__attribute__((visibility("default"))) int mnv3_emu_launch(const char* kernel, unsigned gx, unsigned gy, unsigned gz,
                                                           unsigned bx, unsigned by, unsigned shared_bytes,
                                                           void** args, int arg_count, char* error, size_t capacity) {
    try {
        const Kernel* k = find(kernel);
        if (k == nullptr) return fail(error, capacity, std::string("no kernel named ") + (kernel ? kernel : "(null)"));
        if (arg_count != k->arity || (arg_count > 0 && args == nullptr)) {
            return fail(error, capacity, std::string(k->name) + " takes " + std::to_string(k->arity) +
                                             " arguments, the launch passes " + std::to_string(arg_count));
        }
        if (shared_bytes != 0) {
            return fail(error, capacity, std::string(k->name) + ": dynamic shared memory (" +
                                             std::to_string(shared_bytes) + " bytes) is not emulated");
        }
        std::lock_guard lock(launches);
        k->launch(dim3(gx, gy, gz), dim3(bx, by, 1), args);
        return 0;
    } catch (const std::exception& e) {
        return fail(error, capacity, std::string(kernel ? kernel : "(null)") + ": " + e.what());
    } catch (...) {
        return fail(error, capacity, std::string(kernel ? kernel : "(null)") + ": unknown C++ exception");
    }
}

// The names of every kernel in the table, one per line.
__attribute__((visibility("default"))) const char* mnv3_emu_kernel_names() {
    static const std::string names = [] {
        std::string s;
        for (const Kernel& k : kernels) s += std::string(k.name) + "\n";
        return s;
    }();
    return names.c_str();
}

// The parameter types of kernel as KernelArgs names them ("PTR PTR I32 ..."), or null if unknown.
__attribute__((visibility("default"))) const char* mnv3_emu_signature(const char* kernel) {
    const Kernel* k = find(kernel);
    return k == nullptr ? nullptr : k->signature.c_str();
}

}  // extern "C"
