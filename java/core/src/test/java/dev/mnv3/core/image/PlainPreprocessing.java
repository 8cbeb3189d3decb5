package dev.mnv3.core.image;

/**
 * The resampling as it was first written and checked against torchvision, output by output over
 * {@link Preprocessing#taps}: the oracle that {@link Preprocessing#applyInto}'s loops must equal
 * bit for bit (same products, same sums in the same order, same rounding).
 */
final class PlainPreprocessing {
    private PlainPreprocessing() {
    }

    static float[] apply(Preprocessing p, RgbImage image) {
        int crop = p.crop(), w = image.width(), h = image.height();
        Preprocessing.Taps fx = p.taps(w, h, false), fy = p.taps(w, h, true);
        Preprocessing.Region region = p.sourceRegion(w, h);
        int rows = region.y1() - region.y0();
        float[] horizontal = new float[3 * rows * crop];
        int plane = rows * crop;
        for (int y = region.y0(); y < region.y1(); y++) {
            for (int x = 0; x < crop; x++) {
                double r = 0, g = 0, b = 0;
                for (int k = 0; k < fx.count()[x]; k++) {
                    int px = image.rgb()[y * w + fx.first()[x] + k];
                    float wt = fx.weights()[x][k];
                    r += ((px >> 16) & 0xff) * wt;
                    g += ((px >> 8) & 0xff) * wt;
                    b += (px & 0xff) * wt;
                }
                int base = (y - region.y0()) * crop;
                horizontal[base + x] = toByte(r);
                horizontal[plane + base + x] = toByte(g);
                horizontal[2 * plane + base + x] = toByte(b);
            }
        }
        float[] out = new float[3 * crop * crop];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < crop; y++) {
                int first = fy.first()[y] - region.y0();
                for (int x = 0; x < crop; x++) {
                    double acc = 0;
                    for (int k = 0; k < fy.count()[y]; k++) acc += horizontal[c * plane + (first + k) * crop + x] * fy.weights()[y][k];
                    float v = toByte(acc) / 255f;
                    out[(c * crop + y) * crop + x] = (v - Preprocessing.MEAN[c]) / Preprocessing.STD[c];
                }
            }
        }
        return out;
    }

    private static float toByte(double v) {
        return Math.clamp(Math.round(v), 0, 255);
    }
}
