// Fully connected layer y = act(W x + b): the classifier, and the two small FCs of
// squeeze-excitation (fc1 with ReLU, fc2 with hard-sigmoid; a 1x1 conv on a 1x1 map is a linear).
//
// Launch notes: one warp per output feature, blockDim 256 (8 outputs per block),
// gridDim = (LaunchGeometry.warpPerRow(out), N). x [N, in], w [out, in] (PyTorch layout),
// b [out], y [N, out]. Lanes stride over `in`, so the reads of a W row are coalesced.
#include "common.cuh"

extern "C" __global__ void mnv3_linear(const float* __restrict__ x, const float* __restrict__ w,
                                       const float* __restrict__ b, float* __restrict__ y, int in, int out, int act) {
    int o = (int)(((long long)blockIdx.x * blockDim.x + threadIdx.x) / 32);
    int lane = threadIdx.x & 31;
    int n = blockIdx.y;
    if (o >= out) return;
    const float* xr = x + (long long)n * in;
    const float* wr = w + (long long)o * in;
    float acc = 0.f;
    for (int i = lane; i < in; i += 32) acc = fmaf(xr[i], wr[i], acc);
    acc = mnv3_warp_sum(acc);
    if (lane == 0) y[(long long)n * out + o] = mnv3_activate(acc + b[o], act);
}
