// Global average pool: the avgpool node and the squeeze of squeeze-excitation.
//
// Launch notes: one warp per (n, c) plane, blockDim 256 (8 planes per block),
// gridDim = LaunchGeometry.warpPerRow(planes). x [planes, plane], y [planes]. A warp whose plane
// is past the end returns as a whole, so the shuffles below always see 32 active lanes.
#include "common.cuh"

extern "C" __global__ void mnv3_global_avg_pool(const float* __restrict__ x, float* __restrict__ y, int planes,
                                                int plane) {
    int warp = (int)(((long long)blockIdx.x * blockDim.x + threadIdx.x) / 32);
    int lane = threadIdx.x & 31;
    if (warp >= planes) return;
    const float* p = x + (long long)warp * plane;
    float sum = 0.f;
    for (int i = lane; i < plane; i += 32) sum += p[i];
    sum = mnv3_warp_sum(sum);
    if (lane == 0) y[warp] = sum / (float)plane;
}
