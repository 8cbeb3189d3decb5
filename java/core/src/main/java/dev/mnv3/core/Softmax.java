package dev.mnv3.core;

import java.util.Arrays;

/** Class probabilities from logits, and the most probable classes: how classify and batch jobs report results. */
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

    /** The {@code top} most probable classes of {@code p}, most probable first (ties: the lower class first). */
    public static int[] topClasses(float[] p, int top) {
        Integer[] order = new Integer[p.length];
        for (int c = 0; c < p.length; c++) order[c] = c;
        Arrays.sort(order, (a, b) -> Double.compare(-p[a], -p[b])); // stable; NaN last
        return Arrays.stream(order, 0, Math.min(top, p.length)).mapToInt(Integer::intValue).toArray();
    }
}
