// torchvision's ImageNet evaluation transform on raw U8 RGB images, computing exactly what
// dev.mnv3.core.image.Preprocessing.applyInto computes, bit for bit, given its taps: resize the
// shorter side with antialiased bilinear filtering, center-crop, scale to [0, 1], normalize.
// Only the crop is computed, in PIL's order, as two passes:
//
//   mnv3_preprocess_rows  horizontal: the source rows [y0, y1) under the crop -> crop columns,
//                         rounded to 8 bits (PIL stores the intermediate image as bytes)
//   mnv3_preprocess_cols  vertical: those rows -> crop rows, rounded to 8 bits, / 255, normalized
//
// Bit-exactness with Java: each tap's product is a float (Java multiplies an int or a float by a
// float weight), rounded before it is widened and added to a double sum, tap by tap in order.
// __fmul_rn keeps nvcc from fusing the product into anything; the other operations are plain
// IEEE (no fast math), and __fdiv_rn keeps the divisions so whatever the flags.
//
// Taps: for each crop output i (a column in the first pass, a row in the second), first[i] is
// the first source sample it reads, count[i] how many (1 <= count[i] <= max_taps), and
// weights[i * max_taps + k] the weight of sample first[i] + k; weights past count[i] are never
// read. The numbers are Preprocessing.taps(width, height, rows), padded to max_taps per output.
#include "common.cuh"

// Java's Math.clamp(Math.round(v), 0, 255) as a float. Math.round rounds half up, exactly:
// floor(v + 0.5) would not be (0.49999999999999994 + 0.5 rounds to 1.0), but v - floor(v) is
// exact. NaN gives 0, as Math.round does; every v here is a sum of non-negative terms anyway.
__device__ __forceinline__ float mnv3_round_to_byte(double v) {
    if (!(v >= 0.5)) return 0.f;
    if (v >= 254.5) return 255.f;
    const double whole = floor(v);
    return (float)(v - whole >= 0.5 ? whole + 1.0 : whole);
}

// The weighted sum of count samples p[0], p[step], ..., as Java's loop adds it: product in
// float, sum in double, in tap order.
template <typename T>
__device__ __forceinline__ double mnv3_taps_sum(const T* __restrict__ p, long long step,
                                                const float* __restrict__ weights, int count) {
    double acc = 0.0;
    for (int k = 0; k < count; k++) acc += (double)__fmul_rn((float)p[k * step], weights[k]);
    return acc;
}

// The horizontal pass. src [images, height, width, 3] U8 RGB; rows [images, 3, y1 - y0, crop]
// U8, as PIL stores its intermediate image (a quarter of float's memory traffic):
// rows[n, c, y - y0, x] is source row y of channel c resampled to crop column x with the column taps.
//
// Launch notes: 1-D grid-stride, blockDim 256, gridDim = LaunchGeometry.elementwise(total),
// total = images * 3 * (y1 - y0) * crop.
extern "C" __global__ void mnv3_preprocess_rows(const unsigned char* __restrict__ src,
                                                const int* __restrict__ col_first, const int* __restrict__ col_count,
                                                const float* __restrict__ col_weights, int max_col_taps,
                                                unsigned char* __restrict__ rows, int images, int height, int width, int y0,
                                                int y1, int crop, long long total) {
    (void)images;  // the batch is total / (3 * (y1 - y0) * crop); the index below needs no bound on n
    const int rows_per_image = y1 - y0;
    MNV3_GRID_STRIDE(i, total) {
        const int x = (int)(i % crop);
        long long t = i / crop;
        const int y = y0 + (int)(t % rows_per_image);
        t /= rows_per_image;
        const int c = (int)(t % 3);
        const long long n = t / 3;
        const unsigned char* p = src + ((n * height + y) * width + col_first[x]) * 3 + c;
        rows[i] = (unsigned char)mnv3_round_to_byte(mnv3_taps_sum(p, 3, col_weights + (long long)x * max_col_taps,
                                                                  col_count[x]));
    }
}

// The vertical pass. rows [images, 3, rows_per_image, crop] from mnv3_preprocess_rows, whose
// first row is source row y0; y [images, 3, crop, crop] float NCHW, the network's input:
// y[n, c, j, x] = (round(rows resampled to crop row j with the row taps) / 255 - mean[c]) / std[c].
//
// Launch notes: 1-D grid-stride, blockDim 256, gridDim = LaunchGeometry.elementwise(total),
// total = images * 3 * crop * crop.
extern "C" __global__ void mnv3_preprocess_cols(const unsigned char* __restrict__ rows, const int* __restrict__ row_first,
                                                const int* __restrict__ row_count,
                                                const float* __restrict__ row_weights, int max_row_taps,
                                                float* __restrict__ y, int images, int rows_per_image, int y0,
                                                int crop, float mean_r, float mean_g, float mean_b, float std_r,
                                                float std_g, float std_b, long long total) {
    (void)images;  // the batch is total / (3 * crop * crop)
    MNV3_GRID_STRIDE(i, total) {
        const int x = (int)(i % crop);
        long long plane = i / crop;  // n * 3 + c, then j
        const int j = (int)(plane % crop);
        plane /= crop;
        const int c = (int)(plane % 3);
        const unsigned char* p = rows + (plane * rows_per_image + (row_first[j] - y0)) * crop + x;
        const float b = mnv3_round_to_byte(mnv3_taps_sum(p, crop, row_weights + (long long)j * max_row_taps, row_count[j]));
        const float v = __fdiv_rn(b, 255.f);
        const float mean = c == 0 ? mean_r : c == 1 ? mean_g : mean_b;
        const float deviation = c == 0 ? std_r : c == 1 ? std_g : std_b;
        y[i] = __fdiv_rn(v - mean, deviation);
    }
}
