package dev.mnv3.core.image;

import dev.mnv3.core.Arguments;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * torchvision's ImageNet evaluation transform: resize the shorter side to {@code resize} with
 * antialiased bilinear filtering (as PIL does), center-crop {@code crop} x {@code crop}, scale to
 * [0, 1] and normalize with the ImageNet mean and std. torchvision's V1 weights use resize 256,
 * its V2 Large weights 232; both crop 224.
 *
 * <p>Only the crop is computed: the resized image is never built, so the work and memory depend
 * on the crop and on the source pixels under it, not on the resized size (a 20000x1 strip
 * resized to 256 rows would be 5 million columns wide). As PIL does, the horizontal pass runs
 * first and its result is rounded to 8 bits before the vertical pass.
 */
public record Preprocessing(int resize, int crop) implements java.io.Serializable {
    public static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] STD = {0.229f, 0.224f, 0.225f};
    /** The largest shorter side to resize to: 64k, like the largest network input. */
    public static final int MAX_RESIZE = 1 << 16;

    public Preprocessing {
        if (crop < 1 || resize < crop || resize > MAX_RESIZE) {
            throw new IllegalArgumentException("need 1 <= crop <= resize <= " + MAX_RESIZE + ", got resize " + resize + ", crop " + crop);
        }
    }

    /** What a preprocessing argument is, for messages. */
    public static final String WHAT = "a Preprocessing, e.g. Preprocessing.imagenet()";

    public static Preprocessing imagenet() {
        return new Preprocessing(256, 224);
    }

    /** The source pixels [x0, x1) x [y0, y1) that the crop of a width x height image depends on. */
    public record Region(int x0, int y0, int x1, int y1) {
        public long pixels() {
            return (long) (x1 - x0) * (y1 - y0);
        }
    }

    /** A batch [n, 3, crop, crop] from the images, in order. */
    public Tensor apply(RgbImage... images) {
        Arguments.noNulls(java.util.Arrays.asList(Arguments.notNull(images, "images", "decoded images")), "images", "a decoded image");
        Tensor t = Tensor.zeros(images.length, 3, crop, crop);
        for (int i = 0; i < images.length; i++) {
            try {
                applyInto(images[i], t.data(), i * 3 * crop * crop);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // an RgbImage is in memory: it does not fail
            }
        }
        return t;
    }

    /** A batch [n, 3, crop, crop] from raw images [n, H, W, 3], U8 RGB, in order. */
    public Tensor apply(Tensor images) {
        int[] s = checkImages(images);
        Tensor t = Tensor.zeros(s[0], 3, crop, crop);
        byte[] data = images.bytes();
        for (int i = 0; i < s[0]; i++) {
            try {
                applyInto(new HwcImage(data, (long) i * s[1] * s[2] * 3, s[2], s[1]), t.data(), i * 3 * crop * crop);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // in memory: it does not fail
            }
        }
        return t;
    }

    /** The shape of a batch of raw images [N, H, W, 3] U8, checked. */
    public static int[] checkImages(Tensor images) {
        Arguments.notNull(images, "images", IMAGES);
        return checkImages(images.dtype(), images.shape());
    }

    /** Checks that {@code type} and {@code shape} are those of raw images [N, H, W, 3] U8; returns the shape. */
    public static int[] checkImages(DType type, int[] shape) {
        int[] s = shape.clone();
        if (type != DType.U8 || s.length != 4 || s[3] != 3 || s[0] < 1 || s[1] < 1 || s[2] < 1) {
            throw new IllegalArgumentException("images is " + type + " " + Tensor.shapeString(s) + ", expected " + IMAGES);
        }
        return s;
    }

    private static final String IMAGES = "raw images, U8 [N,H,W,3] (RGB)";

    /** Checks that {@code dst} has room for a crop from {@code offset}, before any work. */
    public void checkDestination(float[] dst, int offset) {
        Arguments.notNull(dst, "dst", "a float[] for the crop");
        Arguments.room("dst", dst.length, offset, 3L * crop * crop, "a crop of 3x" + crop + "x" + crop);
    }

    /** One image of a U8 [N, H, W, 3] batch. */
    record HwcImage(byte[] data, long offset, int width, int height) implements PixelSource {
        @Override
        public void read(int x0, int y0, int x1, int y1, Rows rows) {
            int[] row = new int[x1 - x0];
            for (int y = y0; y < y1; y++) {
                int p = Math.toIntExact(offset + ((long) y * width + x0) * 3);
                for (int i = 0; i < row.length; i++, p += 3) {
                    row[i] = (data[p] & 0xff) << 16 | (data[p + 1] & 0xff) << 8 | data[p + 2] & 0xff;
                }
                rows.row(y, row);
            }
        }
    }

    /**
     * The resampling of one axis, for backends that preprocess elsewhere (the CUDA backend's
     * kernel): for each of the crop's {@code crop} outputs, the first source sample it reads, how
     * many, and their weights; the same numbers {@link #applyInto} uses.
     */
    public record Taps(int[] first, int[] count, float[][] weights) {
    }

    /** The column ({@code rows} false) or row taps of the crop of a width x height image. */
    public Taps taps(int width, int height, boolean rows) {
        Filter f = rows ? window(width, height).rows : window(width, height).columns;
        float[][] weights = new float[f.weights.length][];
        for (int i = 0; i < weights.length; i++) weights[i] = f.weights[i].clone();
        return new Taps(f.first.clone(), f.count.clone(), weights); // copies: the filters are shared
    }

    public Region sourceRegion(int width, int height) {
        Window w = window(width, height);
        return new Region(w.columns.lo(), w.rows.lo(), w.columns.hi(), w.rows.hi());
    }

    /** Writes the normalized CHW crop of {@code image} to {@code dst} from {@code offset} (3 * crop * crop floats). */
    public void applyInto(PixelSource image, float[] dst, int offset) throws IOException {
        Arguments.notNull(image, "image", "the pixels to preprocess");
        checkDestination(dst, offset);
        Window w = window(image.width(), image.height());
        Filter fx = w.columns, fy = w.rows;
        int rows = fy.hi() - fy.lo();
        String what = "preprocessing an image of " + image.width() + "x" + image.height();
        long floats = 3L * rows * crop;
        MemoryBudget.reserve(MemoryBudget.floatBytes(floats, what), what);
        // the horizontal pass, rounded to 8 bits as PIL stores it: [channel][source row][crop column]
        float[] horizontal = new float[MemoryBudget.arrayLength(floats, what)];
        HorizontalPass pass = new HorizontalPass(fx, rows, crop, horizontal);
        image.read(fx.lo(), fy.lo(), fx.hi(), fy.hi(), pass);
        pass.flush(); // the last, partial block
        verticalPass(fy, horizontal, rows, dst, offset);
    }

    /**
     * The horizontal pass over the rows it is handed, a block of rows at a time: a block is
     * stored column by column, so that one output column's taps run down contiguous memory with
     * the block's rows side by side, which the JIT turns into vector instructions. Both passes
     * give exactly what summing one output at a time gives: each output's products (float) are
     * added in double, in tap order, from 0.
     */
    private static final class HorizontalPass implements PixelSource.Rows {
        /** A block fits in L2: its pixels and samples (4 x columns x block ints and floats) are at most 192 KiB. */
        private static final int BLOCK_FLOATS = 48 << 10;

        private final Filter fx;
        private final int crop, columns, block, plane;
        private final int[] pixels; // [row in block][column], as they come
        private final float[] samples; // [channel][column][row in block]
        private final double[] sums;
        private final float[] horizontal;
        private int rowsHeld, rowsDone;

        HorizontalPass(Filter fx, int rows, int crop, float[] horizontal) {
            this.fx = fx;
            this.crop = crop;
            this.columns = fx.hi() - fx.lo();
            this.block = Math.clamp(BLOCK_FLOATS / (4L * columns), 1, Math.min(64, rows));
            this.plane = rows * crop;
            this.pixels = new int[columns * block];
            this.samples = new float[3 * columns * block];
            this.sums = new double[block];
            this.horizontal = horizontal;
        }

        /** Rows come in order, from the region's first (the contract of PixelSource.read). */
        @Override
        public void row(int y, int[] rgb) {
            System.arraycopy(rgb, 0, pixels, rowsHeld++ * columns, columns);
            if (rowsHeld == block) flush();
        }

        /** Filters the rows held into the horizontal result. */
        void flush() {
            int n = rowsHeld, lo = fx.lo(), stride = columns * block;
            // column by column: reads stride through the rows, writes run down the column
            for (int i = 0; i < columns; i++) {
                for (int r = 0, at = i * block; r < n; r++, at++) {
                    int px = pixels[r * columns + i];
                    samples[at] = (px >> 16) & 0xff;
                    samples[stride + at] = (px >> 8) & 0xff;
                    samples[2 * stride + at] = px & 0xff;
                }
            }
            for (int c = 0; c < 3; c++) {
                int channel = c * columns * block, out = c * plane + rowsDone * crop;
                for (int x = 0; x < crop; x++) {
                    java.util.Arrays.fill(sums, 0, n, 0);
                    float[] weights = fx.weights[x];
                    for (int k = 0; k < fx.count[x]; k++) {
                        int from = channel + (fx.first[x] + k - lo) * block;
                        float wt = weights[k];
                        for (int r = 0; r < n; r++) sums[r] += samples[from + r] * wt;
                    }
                    for (int r = 0; r < n; r++) horizontal[out + r * crop + x] = toByte(sums[r]);
                }
            }
            rowsDone += n;
            rowsHeld = 0;
        }
    }

    /** The vertical pass: each crop row from its taps' rows of the horizontal result, then scaled and normalized. */
    private void verticalPass(Filter fy, float[] horizontal, int rows, float[] dst, int offset) {
        int plane = rows * crop;
        double[] acc = new double[crop];
        for (int c = 0; c < 3; c++) {
            float mean = MEAN[c], std = STD[c];
            for (int y = 0; y < crop; y++) {
                java.util.Arrays.fill(acc, 0);
                int first = fy.first[y] - fy.lo();
                for (int k = 0; k < fy.count[y]; k++) {
                    int from = c * plane + (first + k) * crop;
                    float wt = fy.weights[y][k];
                    for (int x = 0; x < crop; x++) acc[x] += horizontal[from + x] * wt;
                }
                int to = offset + (c * crop + y) * crop;
                for (int x = 0; x < crop; x++) dst[to + x] = (toByte(acc[x]) / 255f - mean) / std;
            }
        }
    }

    /**
     * {@code Math.clamp(Math.round(v), 0, 255)} for the sums here, which are never negative: four
     * times faster. Adding 1/2 and truncating rounds as Math.round does except just below 1/2,
     * where the addition itself rounds up (0.49999999999999994 + 0.5 is 1.0), hence the test.
     */
    static float toByte(double v) {
        return v < 0.5 ? 0 : Math.min(255, (int) (v + 0.5));
    }

    /** The filters of the crop's columns and rows. */
    private record Window(Filter columns, Filter rows) {
    }

    /** The window this thread computed last: a decode asks for one image's several times, and images often share a size. */
    private static final ThreadLocal<LastWindow> LAST_WINDOW = new ThreadLocal<>();

    private record LastWindow(Preprocessing of, int width, int height, Window window) {
    }

    private Window window(int w, int h) {
        LastWindow last = LAST_WINDOW.get();
        if (last != null && last.of.equals(this) && last.width == w && last.height == h) return last.window;
        Window window = computeWindow(w, h);
        LAST_WINDOW.set(new LastWindow(this, w, h, window));
        return window;
    }

    private Window computeWindow(int w, int h) {
        if (w < 1 || h < 1) throw new IllegalArgumentException("image " + w + "x" + h + " has no pixels");
        // torchvision: the shorter side becomes `resize`, the longer keeps the aspect ratio (truncated)
        long nw, nh;
        if (w <= h) {
            nw = resize;
            nh = (long) resize * h / w;
        } else {
            nh = resize;
            nw = (long) resize * w / h;
        }
        // torchvision rounds the crop offset half to even (Python's round), as Math.rint does
        long top = (long) Math.rint((nh - crop) / 2.0), left = (long) Math.rint((nw - crop) / 2.0);
        return new Window(new Filter(w, nw, left, crop), new Filter(h, nh, top, crop));
    }

    /**
     * PIL's resampling weights for a triangle (bilinear) filter, for the {@code count} outputs
     * from {@code from} of a resize from {@code in} to {@code out} samples: when shrinking, the
     * filter widens by the scale factor, which is what makes the result antialiased.
     */
    private static final class Filter {
        final int[] first, count;
        final float[][] weights;

        Filter(int in, long out, long from, int n) {
            double scale = (double) in / out;
            double support = Math.max(scale, 1.0);
            first = new int[n];
            count = new int[n];
            weights = new float[n][];
            for (int i = 0; i < n; i++) {
                double center = (from + i + 0.5) * scale;
                int lo = (int) Math.max(0, (long) (center - support + 0.5));
                int hi = (int) Math.min(in, (long) (center + support + 0.5));
                double[] w = new double[hi - lo];
                double sum = 0;
                for (int j = lo; j < hi; j++) {
                    double t = Math.abs((j - center + 0.5) / support);
                    w[j - lo] = Math.max(0, 1 - t);
                    sum += w[j - lo];
                }
                first[i] = lo;
                count[i] = hi - lo;
                weights[i] = new float[w.length];
                for (int k = 0; k < w.length; k++) weights[i][k] = (float) (sum > 0 ? w[k] / sum : 0);
            }
        }

        /** The first source sample any output reads. */
        int lo() {
            return first[0];
        }

            /** One past the last source sample any output reads. */
        int hi() {
            int hi = 0;
            for (int i = 0; i < first.length; i++) hi = Math.max(hi, first[i] + count[i]);
            return hi;
        }
    }
}
