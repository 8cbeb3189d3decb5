// Runs mnv3's CUDA kernels on the CPU, so their index math and numerics are tested where there is
// no GPU. Include this before a kernel .cu file and compile with the host C++ compiler (C++20):
//
//   emu::launch(dim3(blocks), dim3(256), mnv3_bias_act, y, bias, residual, channels, plane, total, act);
//
// Each CUDA thread of a block is a real std::thread, so __syncthreads and warp shuffles block and
// exchange values as on the GPU; blocks run one after another. Nothing here models timing, warp
// scheduling, memory ordering beyond the barriers, or anything specific to an sm version.
// Not supported: dynamic shared memory (extern __shared__), cooperative groups, textures.
#pragma once
#ifndef __CUDACC__

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>  // fmaf, expf, ... are the host's: correctly rounded IEEE, like the GPU without fast math
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

// CUDA's own half types; host g++ compiles them (software arithmetic). They bring dim3 and uint3
// (vector_types.h) and crt/host_defines.h, whose host versions of the keywords are redefined here
// so that this file alone says what each one means on the CPU.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#undef __global__
#undef __device__
#undef __host__
#undef __forceinline__
#undef __launch_bounds__
#undef __shared__
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// A __shared__ array declared in a kernel body becomes one static array, seen by every emulated
// thread of the block. Blocks run one at a time, so one copy serves all of them (it is not
// cleared between blocks, just as shared memory is not).
#define __shared__ static

// The built-in variables, per emulated thread.
inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;

namespace emu {

// A kernel broke a CUDA rule the emulator can see (a shuffle with an exited lane, an exception).
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A reusable barrier for a changing set of threads: a thread that leaves the kernel drops out
// (std::barrier::arrive_and_drop), so the threads still running do not wait for it. Unlike
// std::barrier it can be reset for the next block, and a wait that never ends (a kernel that
// deadlocks, e.g. a shuffle whose partner lane waits at __syncthreads) aborts with a message
// instead of hanging the build.
class Barrier {
public:
    void reset(int threads) {
        expected_ = threads;
        arrived_ = 0;
    }
    void arrive_and_wait(const char* what) {
        std::unique_lock lock(mutex_);
        unsigned long phase = phase_;
        if (++arrived_ == expected_) return complete();
        if (!done_.wait_for(lock, std::chrono::seconds(60), [&] { return phase_ != phase; })) {
            std::fprintf(stderr, "emu: deadlock: block (%u,%u,%u) thread (%u,%u,%u) waited 60 s at %s\n",
                         blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y, threadIdx.z, what);
            std::abort();
        }
    }
    void arrive_and_drop() {
        std::lock_guard lock(mutex_);
        if (--expected_ > 0 && arrived_ == expected_) complete();
    }

private:
    void complete() {
        arrived_ = 0;
        phase_++;
        done_.notify_all();
    }
    std::mutex mutex_;
    std::condition_variable done_;
    int expected_ = 0, arrived_ = 0;
    unsigned long phase_ = 0;
};

// One warp's exchange for the shuffles: each lane posts its value and marks itself present, all
// present lanes meet at the barrier, each reads its source lane, and they meet again before the
// slots are reused. A lane clears its mark after the second meeting (or when it exits), so after
// the first meeting `present` holds exactly the lanes at this shuffle. The meeting is of every lane
// still running, not only those in the mask: a lane outside the mask must shuffle too or exit
// (always so in our kernels, whose shuffles use the full mask), else the shuffle deadlocks.
struct Warp {
    Barrier barrier;
    std::atomic<uint32_t> present{0};
    uint64_t slot[32];
};

// The state of one launch, shared by its threads.
struct Launch {
    Barrier block;  // __syncthreads
    std::vector<Warp> warps;
    std::mutex error_mutex;
    std::string error;  // the first rule broken, thrown by launch() after the threads end

    void fail(const std::string& message) {
        std::lock_guard lock(error_mutex);
        if (error.empty()) error = message;
    }
};

inline thread_local Launch* current = nullptr;
inline thread_local unsigned thread_rank = 0;  // linear index in the block: x fastest, as CUDA numbers lanes

inline std::string where() {
    return "block (" + std::to_string(blockIdx.x) + "," + std::to_string(blockIdx.y) + "," +
           std::to_string(blockIdx.z) + ") thread " + std::to_string(thread_rank);
}

inline void leave_block() {
    Warp& warp = current->warps[thread_rank / 32];
    warp.present.fetch_and(~(1u << (thread_rank % 32)));
    warp.barrier.arrive_and_drop();
    current->block.arrive_and_drop();
}

// The value of `value` in lane src(lane) (own value when src returns -1, i.e. out of the segment).
template <typename T, typename Src>
T shuffle(const char* name, unsigned mask, T value, Src src) {
    // Values travel as bits (CUDA's __half2 and friends are plain bits with user-written copies).
    static_assert(sizeof(T) <= 8, "shuffle of a type wider than 64 bits");
    Warp& warp = current->warps[thread_rank / 32];
    const int lane = (int)(thread_rank % 32);
    std::memcpy(&warp.slot[lane], static_cast<const void*>(&value), sizeof(T));
    warp.present.fetch_or(1u << lane);
    warp.barrier.arrive_and_wait(name);
    const uint32_t present = warp.present.load();
    const int from = src(lane);
    T result = value;
    if ((mask >> lane & 1u) == 0) {
        current->fail(std::string(name) + " in " + where() + ": the calling lane is not in its mask");
    } else if ((mask & ~present) != 0 || (from >= 0 && (present >> from & 1u) == 0)) {
        char text[160];
        std::snprintf(text, sizeof text, ": mask 0x%08x (source lane %d) but only lanes 0x%08x are here, the others exited "
                      "(CUDA requires every lane in the mask to take part)", mask, from, present);
        current->fail(std::string(name) + " in " + where() + text);
    } else if (from >= 0) {
        std::memcpy(static_cast<void*>(&result), &warp.slot[from], sizeof(T));
    }
    warp.barrier.arrive_and_wait(name);
    warp.present.fetch_and(~(1u << lane));
    return result;
}

// Runs kernel(args...) on every thread of every block of the grid.
template <typename... Params, typename... Args>
void launch(dim3 grid, dim3 block, void (*kernel)(Params...), Args... args) {
    const unsigned threads = block.x * block.y * block.z;
    const unsigned long long blocks = (unsigned long long)grid.x * grid.y * grid.z;
    if (threads == 0 || threads > 1024 || blocks == 0) throw Error("emu::launch: bad geometry");
    Launch state;
    state.warps = std::vector<Warp>((threads + 31) / 32);
    auto reset = [&]() noexcept {
        state.block.reset((int)threads);
        for (unsigned w = 0; w < state.warps.size(); w++)
            state.warps[w].barrier.reset((int)std::min(32u, threads - 32 * w));
    };
    reset();
    std::barrier next_block((std::ptrdiff_t)threads, reset);  // the last thread out of a block resets the barriers
    std::vector<std::thread> pool;
    for (unsigned rank = 0; rank < threads; rank++) {
        pool.emplace_back([&, rank] {
            current = &state;
            thread_rank = rank;
            threadIdx = uint3{rank % block.x, rank / block.x % block.y, rank / (block.x * block.y)};
            blockDim = block;
            gridDim = grid;
            for (unsigned long long b = 0; b < blocks; b++) {
                blockIdx = uint3{(unsigned)(b % grid.x), (unsigned)(b / grid.x % grid.y),
                                 (unsigned)(b / ((unsigned long long)grid.x * grid.y))};
                try {
                    kernel(args...);
                } catch (const std::exception& e) {
                    state.fail("exception in " + where() + ": " + e.what());
                }
                leave_block();
                next_block.arrive_and_wait();
            }
        });
    }
    for (std::thread& t : pool) t.join();
    if (!state.error.empty()) throw Error(state.error);
}

}  // namespace emu

// ---- the device functions the kernels call

inline void __syncthreads() { emu::current->block.arrive_and_wait("__syncthreads"); }

template <typename T>
T __shfl_sync(unsigned mask, T var, int src, int width = 32) {
    return emu::shuffle("__shfl_sync", mask, var, [=](int lane) { return lane / width * width + src % width; });
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
    // A lane may read from its own or an earlier segment; a later one gives back its own value.
    return emu::shuffle("__shfl_xor_sync", mask, var,
                        [=](int lane) { return (lane ^ lane_mask) < (lane / width + 1) * width ? lane ^ lane_mask : -1; });
}
template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
    return emu::shuffle("__shfl_down_sync", mask, var,
                        [=](int lane) { return lane % width + (int)delta < width ? lane + (int)delta : -1; });
}
template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
    return emu::shuffle("__shfl_up_sync", mask, var,
                        [=](int lane) { return lane % width >= (int)delta ? lane - (int)delta : -1; });
}

// Atomics on host memory: std::atomic_ref gives the same read-modify-write as the GPU's.
template <typename T>
T atomicAdd(T* address, T value) {
    return std::atomic_ref<T>(*address).fetch_add(value);
}

template <typename T>
T __ldg(const T* p) {
    return *p;
}

// The explicitly rounded float operations: the host's IEEE operators, which the tests' flags
// (-ffp-contract=off) never fuse, just as nvcc never fuses these intrinsics.
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }

#endif  // __CUDACC__
