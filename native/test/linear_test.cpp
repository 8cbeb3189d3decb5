// The fully connected kernel (linear.cu) on the CPU emulator, against a plain loop in double,
// launched with the geometry of dev.mnv3.cuda.Kernels. Tolerance: rel L2 1e-6 (the kernel
// accumulates in float).
#include "check.h"

#include "linear.cu"

using test::check;
using test::run;

namespace {

// y [n, out] = act(x [n, in] . w [out, in]^T + b), launched as Kernels does: warpPerRow(out, n).
void linear(int n, int in, int out, int act) {
    std::string name = "mnv3_linear N" + std::to_string(n) + " " + std::to_string(in) + "->" + std::to_string(out) +
                       " " + test::activation_name(act);
    run(name, [&] {
        std::vector<float> x = test::random((size_t)n * in), w = test::random((size_t)out * in), b = test::random(out);
        std::vector<float> y = test::poisoned<float>((size_t)n * out);
        std::vector<double> exact = test::reference_linear(n, in, out, x, w, b, act);
        std::vector<float> want(exact.begin(), exact.end());
        emu::launch(test::warp_per_row(out, n), dim3(test::kBlock), mnv3_linear, x.data(), w.data(), b.data(), y.data(),
                    in, out, act);
        check(name, y, want, test::kFp32);
    });
}

}  // namespace

int main() {
    // The classifier's inputs (960, 1280) with fewer outputs than the real 1280 and 1000: the same
    // index math, and each emulated warp shuffle costs two barriers of real threads.
    linear(1, 960, 100, MNV3_HARDSWISH);  // the last block has 4 warps past the end
    linear(2, 1280, 43, MNV3_IDENTITY);
    linear(2, 72, 24, MNV3_RELU);        // SE fc1
    linear(2, 24, 72, MNV3_HARDSIGMOID);  // SE fc2
    linear(3, 7, 5, MNV3_RELU);          // in < 32 lanes, out < 8 warps
    return test::report();
}
