package dev.mnv3.core;

/** Class probabilities from logits, as classify, serve and batch jobs report them (ranked by the API's Classifications). */
public final class Softmax {
    private Softmax() {
    }

    /** The softmax of {@code x[from .. from + n)}: float exponentials (shifted by the maximum), summed in double. */
    public static float[] probabilities(float[] x, int from, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[from + i]);
        double sum = 0;
        float[] p = new float[n];
        for (int i = 0; i < n; i++) sum += p[i] = (float) Math.exp(x[from + i] - max);
        for (int i = 0; i < n; i++) p[i] /= (float) sum;
        return p;
    }
}
