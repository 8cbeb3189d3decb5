// Bias + activation (+ residual) epilogue for the convolutions cuDNN runs.
//
// Launch notes: 1-D grid-stride, blockDim 256, gridDim = LaunchGeometry.elementwise(total).
// y [N, C, H, W] is updated in place: y = act(y + bias[c]) (+ residual), so the residual add of a
// bottleneck costs no extra pass over memory. residual may be null; it never aliases y.
#include "common.cuh"

extern "C" __global__ void mnv3_bias_act(float* __restrict__ y, const float* __restrict__ bias,
                                         const float* __restrict__ residual, int channels, int plane,
                                         long long total, int act) {
    MNV3_GRID_STRIDE(i, total) {
        int c = (int)((i / plane) % channels);
        float v = mnv3_activate(y[i] + bias[c], act);
        if (residual != nullptr) v += residual[i];
        y[i] = v;
    }
}
