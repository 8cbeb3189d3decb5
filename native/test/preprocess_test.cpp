// The preprocessing kernels (preprocess.cu) on the CPU emulator, bit for bit against plain loops
// that compute what dev.mnv3.core.image.Preprocessing.applyInto computes: the horizontal pass
// rounded to bytes, then the vertical pass, / 255, normalized; each product in float, each sum in
// double. The taps come from a port of Preprocessing's window and Filter, padded per output to
// the largest count with NaN weights, so a kernel that reads a weight past a tap count fails.
//
// Cases: a 640x480 camera frame (resize 256, crop 224), a larger photo (more taps), an upscale,
// tall and wide strips, crop == resize, odd sizes with an odd crop offset, batches; each on the
// grids the Java side launches and on a grid of 3 blocks. Guards on every case: the kernels'
// results must differ from the references with the taps of the neighbouring output (an indexing
// slip), and the final output from the one without the rounding between the passes.
#include "check.h"

#include "preprocess.cu"

using test::check_exact;
using test::differs_in;
using test::run;

namespace {

const float kMean[3] = {0.485f, 0.456f, 0.406f}, kStd[3] = {0.229f, 0.224f, 0.225f};  // Preprocessing.MEAN, STD

// One axis's resampling: for each of the crop's outputs, the first source sample, how many, and
// their weights, padded to max_taps per output.
struct Taps {
    std::vector<int> first, count;
    std::vector<float> weights;  // [outputs, max_taps]
    int max_taps = 0;

    int lo() const { return first[0]; }
    int hi() const {
        int hi = 0;
        for (size_t i = 0; i < first.size(); i++) hi = std::max(hi, first[i] + count[i]);
        return hi;
    }
};

// Preprocessing.Filter: PIL's triangle filter for `n` outputs from `from` of a resize from `in`
// to `out` samples, widened by the scale when shrinking.
Taps filter(int in, long long out, long long from, int n) {
    const double scale = (double)in / out, support = std::max(scale, 1.0);
    std::vector<std::vector<float>> rows(n);
    Taps t;
    for (int i = 0; i < n; i++) {
        const double center = (from + i + 0.5) * scale;
        const int lo = (int)std::max(0LL, (long long)(center - support + 0.5));
        const int hi = (int)std::min((long long)in, (long long)(center + support + 0.5));
        std::vector<double> w(hi - lo);
        double sum = 0;
        for (int j = lo; j < hi; j++) {
            w[j - lo] = std::max(0.0, 1 - std::abs((j - center + 0.5) / support));
            sum += w[j - lo];
        }
        t.first.push_back(lo);
        t.count.push_back(hi - lo);
        for (double v : w) rows[i].push_back((float)(sum > 0 ? v / sum : 0));
        t.max_taps = std::max(t.max_taps, hi - lo);
    }
    t.weights.assign((size_t)n * t.max_taps, NAN);
    for (int i = 0; i < n; i++) std::copy(rows[i].begin(), rows[i].end(), t.weights.begin() + (size_t)i * t.max_taps);
    return t;
}

// Preprocessing.window: the shorter side becomes `resize` (the longer truncated), the crop centred
// with its offset rounded half to even.
std::pair<Taps, Taps> window(int w, int h, int resize, int crop) {
    const long long nw = w <= h ? resize : (long long)resize * w / h, nh = w <= h ? (long long)resize * h / w : resize;
    const long long top = (long long)std::rint((nh - crop) / 2.0), left = (long long)std::rint((nw - crop) / 2.0);
    return {filter(w, nw, left, crop), filter(h, nh, top, crop)};
}

// The same taps, each output given its neighbour's (x + 1, the last x - 1): an indexing slip.
Taps neighbours(const Taps& t) {
    Taps s = t;
    const int n = (int)t.first.size();
    for (int i = 0; i < n; i++) {
        const int from = i + 1 < n ? i + 1 : i - 1;
        s.first[i] = t.first[from];
        s.count[i] = t.count[from];
        std::copy_n(t.weights.begin() + (size_t)from * t.max_taps, t.max_taps, s.weights.begin() + (size_t)i * t.max_taps);
    }
    return s;
}

// Java's Math.clamp(Math.round(v), 0, 255): llround rounds half away from zero, which is half up
// for the non-negative sums here.
float to_byte(double v) { return (float)std::clamp(std::llround(v), 0LL, 255LL); }

// The horizontal pass of applyInto for every image: [images, 3, y1 - y0, crop], rounded to bytes
// (or, for a guard, kept as the float Java would hold without the rounding).
std::vector<float> reference_rows(const std::vector<unsigned char>& src, int images, int h, int w, const Taps& cols,
                                  int y0, int y1, bool round) {
    const int crop = (int)cols.first.size();
    std::vector<float> rows((size_t)images * 3 * (y1 - y0) * crop);
    size_t i = 0;
    for (int n = 0; n < images; n++)
        for (int c = 0; c < 3; c++)
            for (int y = y0; y < y1; y++)
                for (int x = 0; x < crop; x++) {
                    double acc = 0;
                    for (int k = 0; k < cols.count[x]; k++) {
                        const float px = src[(((size_t)n * h + y) * w + cols.first[x] + k) * 3 + c];
                        acc += px * cols.weights[(size_t)x * cols.max_taps + k];  // float product, double sum
                    }
                    rows[i++] = round ? to_byte(acc) : (float)acc;
                }
    return rows;
}

// The vertical pass of applyInto and the normalization: [images, 3, crop, crop].
std::vector<float> reference_output(const std::vector<float>& rows, int images, int rows_per_image, int y0,
                                    const Taps& taps) {
    const int crop = (int)taps.first.size();
    std::vector<float> y((size_t)images * 3 * crop * crop);
    size_t i = 0;
    for (int n = 0; n < images; n++)
        for (int c = 0; c < 3; c++)
            for (int j = 0; j < crop; j++)
                for (int x = 0; x < crop; x++) {
                    double acc = 0;
                    for (int k = 0; k < taps.count[j]; k++) {
                        const float v = rows[(((size_t)n * 3 + c) * rows_per_image + taps.first[j] - y0 + k) * crop + x];
                        acc += v * taps.weights[(size_t)j * taps.max_taps + k];
                    }
                    const float v = to_byte(acc) / 255.f;
                    y[i++] = (v - kMean[c]) / kStd[c];
                }
    return y;
}

struct Case {
    const char* what;
    int images, width, height, resize, crop;
    std::string name() const {
        return std::string(what) + " " + std::to_string(images) + "x " + std::to_string(width) + "x" +
               std::to_string(height) + " -> " + std::to_string(resize) + "/" + std::to_string(crop);
    }
};

void preprocess(const Case& s) {
    static std::mt19937 rng(17);
    std::vector<unsigned char> src((size_t)s.images * s.height * s.width * 3);
    for (unsigned char& b : src) b = (unsigned char)(rng() & 0xff);
    const auto [cols, row_taps] = window(s.width, s.height, s.resize, s.crop);
    const int y0 = row_taps.lo(), y1 = row_taps.hi(), rows_per_image = y1 - y0, crop = s.crop;
    const long long rows_total = (long long)s.images * 3 * rows_per_image * crop, total = (long long)s.images * 3 * crop * crop;

    const std::vector<float> want_rows = reference_rows(src, s.images, s.height, s.width, cols, y0, y1, true);
    const std::vector<float> want = reference_output(want_rows, s.images, rows_per_image, y0, row_taps);
    // the guards: the neighbours' taps in either pass, no rounding between the passes
    const std::vector<float> slip_rows = reference_rows(src, s.images, s.height, s.width, neighbours(cols), y0, y1, true);
    const std::vector<float> slip = reference_output(want_rows, s.images, rows_per_image, y0, neighbours(row_taps));
    const std::vector<float> unrounded = reference_output(
        reference_rows(src, s.images, s.height, s.width, cols, y0, y1, false), s.images, rows_per_image, y0, row_taps);

    const std::string taps = " (rows " + std::to_string(y0) + ".." + std::to_string(y1) + ", taps " +
                             std::to_string(cols.max_taps) + "x" + std::to_string(row_taps.max_taps) + ")";
    auto rows_grids = test::grid_stride_grids(rows_total), cols_grids = test::grid_stride_grids(total);
    for (size_t g = 0; g < std::max(rows_grids.size(), cols_grids.size()); g++) {
        // the Java side's grids for each pass (on an H100, on one SM), then 3 blocks for both
        const auto& [rows_grid_name, rows_grid] = rows_grids[std::min(g, rows_grids.size() - 1)];
        const auto& [cols_grid_name, cols_grid] = cols_grids[std::min(g, cols_grids.size() - 1)];
        const std::string grids = ", " + rows_grid_name + " / " + cols_grid_name;
        const std::string rows_name = "mnv3_preprocess_rows " + s.name() + taps + grids;
        const std::string cols_name = "mnv3_preprocess_cols " + s.name() + taps + grids;
        run(rows_name, [&] {
            // the bytes of the intermediate image start as 0xAB: a byte the pass leaves alone stays wrong
            std::vector<unsigned char> rows((size_t)rows_total, 0xAB);
            std::vector<float> y = test::poisoned<float>(total);
            emu::launch(rows_grid, dim3(test::kBlock), mnv3_preprocess_rows, src.data(), cols.first.data(),
                        cols.count.data(), cols.weights.data(), cols.max_taps, rows.data(), s.images, s.height, s.width,
                        y0, y1, crop, rows_total);
            const std::vector<float> got_rows(rows.begin(), rows.end());
            if (!check_exact(rows_name, got_rows, want_rows)) return;
            differs_in(rows_name + " vs neighbour column taps", got_rows, slip_rows, (size_t)rows_total / 4);
            emu::launch(cols_grid, dim3(test::kBlock), mnv3_preprocess_cols, rows.data(),
                        row_taps.first.data(), row_taps.count.data(), row_taps.weights.data(), row_taps.max_taps,
                        y.data(), s.images, rows_per_image, y0, crop, kMean[0], kMean[1], kMean[2], kStd[0], kStd[1],
                        kStd[2], total);
            if (!check_exact(cols_name, y, want)) return;
            differs_in(cols_name + " vs neighbour row taps", y, slip, (size_t)total / 4);
            differs_in(cols_name + " vs no rounding between the passes", y, unrounded, (size_t)total / 100);
        });
    }
}

// The kernels' rounding against Java's Math.round on the values where it is easy to get wrong.
void byte_rounding() {
    const std::vector<std::pair<double, float>> known = {
        {0.49999999999999994, 0.f},  // floor(v + 0.5) gives 1
        {0.5, 1.f}, {1.5, 2.f}, {2.5, 3.f},  // half up, not to even
        {std::nextafter(2.5, 0.0), 2.f}, {254.49999999999997, 254.f}, {254.5, 255.f}, {255.0, 255.f}, {300.7, 255.f},
        {-0.5, 0.f}, {-3.0, 0.f}, {0.0, 0.f}, {INFINITY, 255.f}, {NAN, 0.f}};  // Math.round(NaN) is 0
    std::vector<float> got, reference, want;
    for (auto [v, w] : known) {
        got.push_back(mnv3_round_to_byte(v));
        if (!std::isnan(v) && !std::isinf(v)) reference.push_back(to_byte(v));
        want.push_back(w);
    }
    check_exact("mnv3_round_to_byte, known values", got, want);
    check_exact("the test's to_byte, known values", reference, std::vector<float>(want.begin(), want.end() - 2));
}

}  // namespace

int main() {
    byte_rounding();
    const Case cases[] = {
        {"camera frame", 1, 640, 480, 256, 224},
        {"photo", 1, 1024, 1365, 232, 224},  // portrait, ~5.9 source pixels per output: 12-13 taps
        {"upscale", 2, 100, 80, 256, 224},
        {"tall strip", 2, 6, 500, 256, 224},
        {"wide strip", 1, 700, 9, 232, 224},
        {"crop == resize", 3, 50, 70, 40, 40},
        {"odd", 3, 37, 23, 16, 11},  // 37x23 -> 25x16: crop offsets 7 and 2.5, which rounds to even: 2
    };
    for (const Case& s : cases) preprocess(s);
    return test::report();
}
