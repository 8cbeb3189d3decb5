// The emulator itself: the built-in indices, __syncthreads over shared memory, warp shuffles,
// threads that return early, atomics, and a shuffle whose partner lane has exited (an error).
#include "check.h"
#include "common.cuh"

using test::check;
using test::run;

namespace {

// Every thread writes its coordinates; the 3-D grid and block check the linear numbering.
__global__ void coordinates(float* out) {
    unsigned block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    unsigned thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    out[block * blockDim.x * blockDim.y * blockDim.z + thread] =
        blockIdx.x + 10.f * blockIdx.y + 100.f * blockIdx.z +
        1000.f * (threadIdx.x + 10.f * threadIdx.y + 100.f * threadIdx.z);
}

// Tree reduction in shared memory: wrong without a working barrier.
__global__ void block_sum(const float* x, float* out) {
    __shared__ float partial[256];
    unsigned t = threadIdx.x;
    partial[t] = x[blockIdx.x * blockDim.x + t];
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) partial[t] += partial[t + s];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = partial[0];
}

// Butterfly sum (every lane gets the total) and a shuffle-down sum in int (lane 0 gets it).
__global__ void warp_sums(const float* x, float* all, float* down) {
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    all[i] = mnv3_warp_sum(x[i]);
    int v = (int)x[i];
    for (unsigned offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    if (threadIdx.x % 32 == 0) down[i / 32] = (float)v;
}

// The other shuffles, on half types and with segments (width < 32): lane t of a 32-thread block.
__global__ void other_shuffles(float* y) {
    unsigned t = threadIdx.x;
    y[3 * t] = __half2float(__shfl_sync(0xffffffffu, __float2half((float)t), 5));
    y[3 * t + 1] = __bfloat162float(__shfl_up_sync(0xffffffffu, __float2bfloat16((float)t), 2));
    y[3 * t + 2] = (float)__shfl_down_sync(0xffffffffu, (int)t, 4, 8);
}

// A third of the threads return before the barrier; the rest must not wait for them.
__global__ void early_exit(float* y) {
    __shared__ float value[256];
    unsigned t = threadIdx.x;
    if (t % 3 == 0) return;
    value[t] = (float)t;
    __syncthreads();
    unsigned partner = t % 3 == 1 ? t + 1 : t - 1;  // pairs (3k+1, 3k+2) both stay
    y[blockIdx.x * blockDim.x + t] = value[partner];
}

__global__ void count(float* total) { atomicAdd(total, 1.f); }

// The upper half of each warp returns, the lower half shuffles with the full mask: a CUDA error.
__global__ void exited_partner(float* y) {
    if (threadIdx.x % 32 >= 16) return;
    y[threadIdx.x] = mnv3_warp_sum(1.f);
}

}  // namespace

int main() {
    run("coordinates grid (3,2,2) block (8,4,2)", [] {
        dim3 grid(3, 2, 2), block(8, 4, 2);
        std::vector<float> got = test::poisoned<float>(12 * 64), want;
        emu::launch(grid, block, coordinates, got.data());
        for (unsigned bz = 0; bz < 2; bz++)
            for (unsigned by = 0; by < 2; by++)
                for (unsigned bx = 0; bx < 3; bx++)
                    for (unsigned tz = 0; tz < 2; tz++)
                        for (unsigned ty = 0; ty < 4; ty++)
                            for (unsigned tx = 0; tx < 8; tx++)
                                want.push_back(bx + 10.f * by + 100.f * bz + 1000.f * (tx + 10.f * ty + 100.f * tz));
        check("coordinates grid (3,2,2) block (8,4,2)", got, want, 0);
    });

    // Small integers: every sum below is exact, whatever the order.
    const unsigned blocks = 5;
    std::vector<float> x = test::random(blocks * 256, -8, 8);
    for (float& v : x) v = std::round(v);

    run("__syncthreads shared-memory block sum", [&] {
        std::vector<float> got = test::poisoned<float>(blocks), want(blocks, 0.f);
        emu::launch(dim3(blocks), dim3(256), block_sum, x.data(), got.data());
        for (unsigned i = 0; i < x.size(); i++) want[i / 256] += x[i];
        check("__syncthreads shared-memory block sum", got, want, 0);
    });

    run("warp shuffles", [&] {
        std::vector<float> all = test::poisoned<float>(x.size()), down = test::poisoned<float>(x.size() / 32);
        emu::launch(dim3(blocks), dim3(256), warp_sums, x.data(), all.data(), down.data());
        std::vector<float> want_down(x.size() / 32, 0.f), want_all(x.size());
        for (unsigned i = 0; i < x.size(); i++) want_down[i / 32] += x[i];
        for (unsigned i = 0; i < x.size(); i++) want_all[i] = want_down[i / 32];
        check("__shfl_xor_sync butterfly sum (every lane)", all, want_all, 0);
        check("__shfl_down_sync int sum (lane 0)", down, want_down, 0);
    });

    run("__shfl_sync, __shfl_up_sync, width 8", [] {
        std::vector<float> got = test::poisoned<float>(3 * 32), want;
        emu::launch(dim3(1), dim3(32), other_shuffles, got.data());
        for (unsigned t = 0; t < 32; t++) {
            want.push_back(5.f);                                 // broadcast of lane 5 (__half)
            want.push_back((float)(t >= 2 ? t - 2 : t));         // up by 2 (bf16); lanes 0, 1 keep theirs
            want.push_back((float)(t % 8 + 4 < 8 ? t + 4 : t));  // down by 4 within segments of 8
        }
        check("__shfl_sync (__half), __shfl_up_sync (bf16), __shfl_down_sync width 8", got, want, 0);
    });

    run("early return before __syncthreads", [] {
        std::vector<float> got = test::poisoned<float>(3 * 256), want(3 * 256);
        emu::launch(dim3(3), dim3(256), early_exit, got.data());
        for (unsigned i = 0; i < want.size(); i++) {
            unsigned t = i % 256;
            want[i] = t % 3 == 0 ? NAN : (float)(t % 3 == 1 ? t + 1 : t - 1);
        }
        check("early return before __syncthreads", got, want, 0);
    });

    run("atomicAdd", [] {
        std::vector<float> got{0.f};
        emu::launch(dim3(4), dim3(256), count, got.data());
        check("atomicAdd from 1024 threads", got, {1024.f}, 0);
    });

    // The error case: the launch must throw, naming the shuffle and the exited lanes.
    test::checks++;
    try {
        std::vector<float> y(256);
        emu::launch(dim3(1), dim3(256), exited_partner, y.data());
        test::fail("shuffle with an exited lane", "not reported");
    } catch (const emu::Error& e) {
        std::string message = e.what();
        if (message.find("__shfl_xor_sync") == std::string::npos || message.find("exited") == std::string::npos)
            test::fail("shuffle with an exited lane", "unexpected message: " + message);
        else
            std::printf("ok   shuffle with an exited lane is reported: %s\n", message.c_str());
    }
    return test::report();
}
