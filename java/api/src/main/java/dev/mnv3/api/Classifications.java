package dev.mnv3.api;

import dev.mnv3.core.Softmax;
import dev.mnv3.core.image.ImageNetClasses;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What a model says of one image: a probability for every class, with the classes' labels. The
 * one place that ranks classes ({@link #topK}, {@link #topIndices}): the CLI, serve, the Spark job
 * and {@link ImageClassifier} all order classes this way.
 */
public final class Classifications {
    private final String source;
    private final float[] probabilities;
    private final List<String> labels;
    private final List<String> warnings;

    /**
     * The probabilities of {@code logits[from .. from + labels.size())}, one image's row of a
     * batch's logits (softmax: float exponentials shifted by the maximum, summed in double).
     *
     * @param source   how the image is named (a path, or the name given to its bytes)
     * @param labels   one label per class ({@link #labelsFor})
     * @param warnings what is wrong with an image that decoded regardless (empty when intact)
     */
    public static Classifications ofLogits(String source, float[] logits, int from, List<String> labels, List<String> warnings) {
        return new Classifications(source, Softmax.probabilities(logits, from, labels.size()), labels, warnings);
    }

    private Classifications(String source, float[] probabilities, List<String> labels, List<String> warnings) {
        this.source = Objects.requireNonNull(source, "source");
        this.probabilities = probabilities;
        this.labels = labels;
        this.warnings = List.copyOf(warnings);
    }

    /**
     * The {@code k} most probable classes, most probable first (ties: the lower index first; NaN
     * last); all of them when {@code k} is more than there are.
     */
    public List<Classification> topK(int k) {
        List<Classification> top = new ArrayList<>();
        for (int c : topIndices(probabilities, 0, probabilities.length, k)) top.add(get(c));
        return List.copyOf(top);
    }

    /** The most probable class. */
    public Classification best() {
        return topK(1).getFirst();
    }

    /** Class {@code index} with its label and probability. */
    public Classification get(int index) {
        Objects.checkIndex(index, probabilities.length);
        return new Classification(index, labels.get(index), probabilities[index]);
    }

    /** How many classes the model has. */
    public int size() {
        return probabilities.length;
    }

    /** Every class's probability, by class index (a copy). */
    public float[] probabilities() {
        return probabilities.clone();
    }

    /** The image these are of: its path as given, or the name its bytes came with. */
    public String source() {
        return source;
    }

    /** What is wrong with the image (corrupt JPEG data, a PNG chunk failing its CRC), empty when it decoded intact. */
    public List<String> warnings() {
        return warnings;
    }

    @Override
    public String toString() {
        return source + ": " + topK(Math.min(5, size()));
    }

    /**
     * The positions of the {@code k} largest of {@code values[from .. from + n)} relative to
     * {@code from}, largest first; ties: the lower position first; NaN last. The same order on
     * logits as on their probabilities, as softmax keeps it.
     *
     * @throws IllegalArgumentException when {@code k < 1}
     */
    public static int[] topIndices(float[] values, int from, int n, int k) {
        if (k < 1) throw new IllegalArgumentException("k must be >= 1, got " + k);
        Objects.checkFromIndexSize(from, n, values.length);
        int m = Math.min(k, n);
        if (m > SELECT_MAX) {
            Integer[] order = new Integer[n];
            for (int c = 0; c < n; c++) order[c] = c;
            // a stable sort by value, descending; Double.compare puts NaN above every number, so -NaN sorts last
            Arrays.sort(order, (a, b) -> Double.compare(-values[from + a], -values[from + b]));
            return Arrays.stream(order, 0, m).mapToInt(Integer::intValue).toArray();
        }
        // the few best kept in order while the values pass once: a full sort of boxed positions per image
        // was 8% of a Spark task thread's samples (benchmarks/RESULTS.md, issue 30)
        int[] top = new int[m];
        int size = 0;
        for (int c = 0; c < n; c++) {
            double key = -values[from + c];
            if (size == m && Double.compare(key, -values[from + top[m - 1]]) >= 0) continue; // ties keep the lower position
            int j = size < m ? size++ : m - 1;
            while (j > 0 && Double.compare(key, -values[from + top[j - 1]]) < 0) {
                top[j] = top[j - 1];
                j--;
            }
            top[j] = c;
        }
        return top;
    }

    /** Up to this many classes are picked in one pass; more are sorted. */
    private static final int SELECT_MAX = 32;

    /** The labels of a model with {@code classes} classes: ImageNet's names for 1000, else "class 0", "class 1", ... */
    public static List<String> labelsFor(int classes) {
        if (classes < 1) throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        if (classes == ImageNetClasses.names().size()) return ImageNetClasses.names();
        return new AbstractList<>() {
            @Override
            public String get(int index) {
                return ImageNetClasses.name(Objects.checkIndex(index, classes), classes);
            }

            @Override
            public int size() {
                return classes;
            }
        };
    }
}
