package dev.mnv3.core.image;

import dev.mnv3.core.tensor.Tensor;

/**
 * torchvision's ImageNet evaluation transform: resize the shorter side to {@code resize} with
 * antialiased bilinear filtering (as PIL does), center-crop {@code crop} x {@code crop}, scale to
 * [0, 1] and normalize with the ImageNet mean and std. torchvision's V1 weights use resize 256,
 * its V2 Large weights 232; both crop 224.
 */
public record Preprocessing(int resize, int crop) {
    public static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] STD = {0.229f, 0.224f, 0.225f};

    public Preprocessing {
        if (crop < 1 || resize < crop) {
            throw new IllegalArgumentException("need 1 <= crop <= resize, got resize " + resize + ", crop " + crop);
        }
    }

    public static Preprocessing imagenet() {
        return new Preprocessing(256, 224);
    }

    /** A batch [n, 3, crop, crop] from the images, in order. */
    public Tensor apply(RgbImage... images) {
        Tensor t = Tensor.zeros(images.length, 3, crop, crop);
        for (int i = 0; i < images.length; i++) {
            float[] chw = toTensor(images[i]);
            System.arraycopy(chw, 0, t.data(), i * chw.length, chw.length);
        }
        return t;
    }

    private float[] toTensor(RgbImage img) {
        int w = img.width(), h = img.height();
        // torchvision: the shorter side becomes `resize`, the longer keeps the aspect ratio (truncated)
        int nw, nh;
        if (w <= h) {
            nw = resize;
            nh = (int) ((long) resize * h / w);
        } else {
            nh = resize;
            nw = (int) ((long) resize * w / h);
        }
        float[][] planes = new float[3][w * h];
        int[] px = img.rgb();
        for (int i = 0; i < px.length; i++) {
            planes[0][i] = (px[i] >> 16) & 0xff;
            planes[1][i] = (px[i] >> 8) & 0xff;
            planes[2][i] = px[i] & 0xff;
        }
        // torchvision rounds the crop offset half to even (Python's round), as Math.rint does
        int top = (int) Math.rint((nh - crop) / 2.0), left = (int) Math.rint((nw - crop) / 2.0);
        float[] out = new float[3 * crop * crop];
        for (int c = 0; c < 3; c++) {
            float[] resized = resizeVertical(resizeHorizontal(planes[c], w, h, nw), nw, h, nh);
            for (int y = 0; y < crop; y++) {
                for (int x = 0; x < crop; x++) {
                    float v = Math.clamp(Math.round(resized[(top + y) * nw + left + x]), 0, 255) / 255f;
                    out[(c * crop + y) * crop + x] = (v - MEAN[c]) / STD[c];
                }
            }
        }
        return out;
    }

    private static float[] resizeHorizontal(float[] src, int w, int h, int nw) {
        Filter f = new Filter(w, nw);
        float[] dst = new float[nw * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < nw; x++) {
                double acc = 0;
                for (int k = 0; k < f.count[x]; k++) acc += src[y * w + f.first[x] + k] * f.weights[x][k];
                dst[y * nw + x] = (float) acc;
            }
        }
        return dst;
    }

    private static float[] resizeVertical(float[] src, int w, int h, int nh) {
        Filter f = new Filter(h, nh);
        float[] dst = new float[w * nh];
        for (int y = 0; y < nh; y++) {
            for (int k = 0; k < f.count[y]; k++) {
                float wt = f.weights[y][k];
                int row = (f.first[y] + k) * w;
                for (int x = 0; x < w; x++) dst[y * w + x] += src[row + x] * wt;
            }
        }
        return dst;
    }

    /**
     * PIL's resampling weights for a triangle (bilinear) filter: when shrinking, the filter widens
     * by the scale factor, which is what makes the result antialiased.
     */
    private static final class Filter {
        final int[] first, count;
        final float[][] weights;

        Filter(int in, int out) {
            double scale = (double) in / out;
            double support = Math.max(scale, 1.0);
            first = new int[out];
            count = new int[out];
            weights = new float[out][];
            for (int i = 0; i < out; i++) {
                double center = (i + 0.5) * scale;
                int lo = Math.max(0, (int) (center - support + 0.5));
                int hi = Math.min(in, (int) (center + support + 0.5));
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
    }
}
