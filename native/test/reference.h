// The plain loops in double that the kernels are checked against, and the shapes they take: the
// activations, a depthwise and a dense convolution in NCHW, a fully connected layer. A test whose
// kernel uses another layout converts to these.
#pragma once
#include <string>
#include <vector>

namespace test {

// The activations of common.cuh written out plainly, in double; NaN propagates (comparisons, no
// fmin/fmax), as in PyTorch. act: MNV3_IDENTITY, MNV3_RELU, MNV3_HARDSWISH, MNV3_HARDSIGMOID.
inline double activate(double x, int act) {
    auto relu6 = [](double v) { return v < 0 ? 0 : v > 6 ? 6 : v; };
    if (act == 1) return x < 0 ? 0 : x;
    if (act == 2) return x * relu6(x + 3) / 6;
    if (act == 3) return relu6(x + 3) / 6;
    return x;
}
inline const char* activation_name(int act) {
    static const char* names[] = {"identity", "relu", "hardswish", "hardsigmoid"};
    return names[act];
}

// A tensor's shape in a report, in its layout's order.
inline std::string nchw(int n, int c, int h, int w) {
    return "N" + std::to_string(n) + " C" + std::to_string(c) + " " + std::to_string(h) + "x" + std::to_string(w);
}
inline std::string nhwc(int n, int h, int w, int c) {
    return "N" + std::to_string(n) + " " + std::to_string(h) + "x" + std::to_string(w) + " C" + std::to_string(c);
}

// A depthwise convolution's shape, and its name in a report.
struct Conv {
    int n, c, h, w, k, stride, pad, dilation;
    int out_h() const { return (h + 2 * pad - dilation * (k - 1) - 1) / stride + 1; }
    int out_w() const { return (w + 2 * pad - dilation * (k - 1) - 1) / stride + 1; }
    std::string name() const {
        return "N" + std::to_string(n) + " C" + std::to_string(c) + " " + std::to_string(h) + "x" + std::to_string(w) +
               " k" + std::to_string(k) + " s" + std::to_string(stride) + " p" + std::to_string(pad) + " d" +
               std::to_string(dilation);
    }
};

// act(depthwise conv + bias) in double, x [N, C, H, W], w [C, K, K] -> [N, C, OH, OW]. Every layout
// is checked against this one: a test converts its inputs to these layouts.
inline std::vector<double> reference_depthwise(const Conv& s, const std::vector<float>& x, const std::vector<float>& w,
                                               const std::vector<float>& bias, int act) {
    const int oh = s.out_h(), ow = s.out_w();
    std::vector<double> y((size_t)s.n * s.c * oh * ow);
    for (int n = 0; n < s.n; n++)
        for (int c = 0; c < s.c; c++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double acc = bias[c];
                    for (int ky = 0; ky < s.k; ky++)
                        for (int kx = 0; kx < s.k; kx++) {
                            int iy = oy * s.stride - s.pad + ky * s.dilation, ix = ox * s.stride - s.pad + kx * s.dilation;
                            if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w)
                                acc += (double)x[((size_t)(n * s.c + c) * s.h + iy) * s.w + ix] * w[(c * s.k + ky) * s.k + kx];
                        }
                    y[((size_t)(n * s.c + c) * oh + oy) * ow + ox] = activate(acc, act);
                }
    return y;
}

// A dense (groups = 1) convolution's shape, and its name in a report.
struct DenseConv {
    int n, cin, h, w, cout, k, stride, pad, dilation;
    int out_h() const { return (h + 2 * pad - dilation * (k - 1) - 1) / stride + 1; }
    int out_w() const { return (w + 2 * pad - dilation * (k - 1) - 1) / stride + 1; }
    std::string name() const {
        return "N" + std::to_string(n) + " " + std::to_string(cin) + "->" + std::to_string(cout) + " " +
               std::to_string(h) + "x" + std::to_string(w) + " k" + std::to_string(k) + " s" + std::to_string(stride) +
               " p" + std::to_string(pad) + " d" + std::to_string(dilation);
    }
};

// act(conv + bias) in double, x [N, Cin, H, W], w [Cout, Cin, K, K] (PyTorch's layout) ->
// [N, Cout, OH, OW].
inline std::vector<double> reference_dense(const DenseConv& s, const std::vector<float>& x, const std::vector<float>& w,
                                           const std::vector<float>& bias, int act) {
    const int oh = s.out_h(), ow = s.out_w();
    std::vector<double> y((size_t)s.n * s.cout * oh * ow);
    for (int n = 0; n < s.n; n++)
        for (int o = 0; o < s.cout; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double acc = bias[o];
                    for (int ci = 0; ci < s.cin; ci++)
                        for (int ky = 0; ky < s.k; ky++)
                            for (int kx = 0; kx < s.k; kx++) {
                                int iy = oy * s.stride - s.pad + ky * s.dilation;
                                int ix = ox * s.stride - s.pad + kx * s.dilation;
                                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                                acc += (double)x[((size_t)(n * s.cin + ci) * s.h + iy) * s.w + ix] *
                                       w[((size_t)(o * s.cin + ci) * s.k + ky) * s.k + kx];
                            }
                    y[(((size_t)n * s.cout + o) * oh + oy) * ow + ox] = activate(acc, act);
                }
    return y;
}

// act(x . w^T + b) in double, x [n, in], w [out, in] (PyTorch layout) -> [n, out].
template <typename X>
std::vector<double> reference_linear(int n, int in, int out, const std::vector<X>& x, const std::vector<float>& w,
                                     const std::vector<float>& b, int act) {
    std::vector<double> y((size_t)n * out);
    for (int r = 0; r < n; r++)
        for (int o = 0; o < out; o++) {
            double acc = b[o];
            for (int i = 0; i < in; i++) acc += (double)x[(size_t)r * in + i] * w[(size_t)o * in + i];
            y[(size_t)r * out + o] = activate(acc, act);
        }
    return y;
}

}  // namespace test
