// The excitation of squeeze-excitation: x[n, c, :, :] *= scale[n, c].
//
// The whole SE block is three launches: mnv3_global_avg_pool (squeeze), mnv3_linear twice
// (fc1 + ReLU, fc2 + hard-sigmoid: one warp per output, so even batch 1 fills many SMs), then
// this channel scale. Launch notes: 1-D grid-stride, blockDim 256,
// gridDim = LaunchGeometry.elementwise(N * C * H * W); scale [N * C].
#include "common.cuh"

extern "C" __global__ void mnv3_channel_scale(float* __restrict__ x, const float* __restrict__ scale, int plane,
                                              long long total) {
    MNV3_GRID_STRIDE(i, total) {
        x[i] *= scale[i / plane];
    }
}
