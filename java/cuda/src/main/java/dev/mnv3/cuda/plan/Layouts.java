package dev.mnv3.cuda.plan;

/**
 * The one transpose the NHWC path needs, in its four uses: conv filters to cuDNN's NHWC layout,
 * depthwise filters to tap-major, the input batch to NHWC (in the tests' oracle) and traced NHWC
 * outputs back to the reference's NCHW.
 */
public final class Layouts {
    private Layouts() {
    }

    /**
     * [n, c, plane] -> [n, plane, paddedC], channels past {@code c} zero: channels become the
     * fastest-moving index of each of the n blocks.
     */
    public static float[] channelsLast(float[] a, int n, int c, int paddedC, int plane) {
        float[] r = new float[n * plane * paddedC];
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                for (int p = 0; p < plane; p++) r[(b * plane + p) * paddedC + ch] = a[(b * c + ch) * plane + p];
            }
        }
        return r;
    }
}
