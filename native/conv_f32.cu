// The dense k x k convolution of the FP32 and TF32 NCHW paths, epilogue fused, so these
// precisions need no cuDNN for it:
//
//   mnv3_conv_f32        dense k x k conv + bias + act (the stem: 3 -> 16 channels, 3x3, stride 2)
//
#include "common.cuh"

// Launch notes: one output element per thread, 1-D grid-stride, blockDim 256,
// gridDim = LaunchGeometry.elementwise(total), total = N * out_channels * out_h * out_w.
// x [N, in_channels, height, width], w [out_channels, in_channels, k, k] (PyTorch's layout),
// y [N, out_channels, out_h, out_w]; zero padding `pad`, any stride and dilation. Sums onto the
// bias in the order ci, ky, kx, as the FP16/BF16 stem does. Threads of a warp share the output
// channel (but at the end of a plane), so their weight reads are one broadcast.
extern "C" __global__ void mnv3_conv_f32(const float* __restrict__ x, const float* __restrict__ w,
                                         const float* __restrict__ bias, float* __restrict__ y, int in_channels,
                                         int height, int width, int out_channels, int out_h, int out_w, int k,
                                         int stride, int pad, int dilation, int act, long long total) {
    MNV3_GRID_STRIDE(i, total) {
        const int ox = (int)(i % out_w);
        long long t = i / out_w;
        const int oy = (int)(t % out_h);
        t /= out_h;
        const int co = (int)(t % out_channels);
        const long long n = t / out_channels;
        float acc[1] = {bias[co]};
        mnv3_conv_window<1>(acc, x + n * in_channels * height * width, w + (long long)co * in_channels * k * k, 0,
                            in_channels, height, width, k, stride, pad, dilation, oy, ox);
        y[i] = mnv3_activate(acc[0], act);
    }
}
