package dev.mnv3.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The one top-k: order, ties, NaN, k past the classes, and the probabilities it ranks. */
class ClassificationsTest {
    private static final List<String> LABELS = List.of("a", "b", "c", "d", "e");

    @Test
    void ranksByProbabilityTiesToTheLowerIndexNaNLast() {
        // row 1 of a batch: logits 2, NaN, 5, 2, -1 (class 0 and 3 tie)
        float[] logits = {9, 9, 9, 9, 9, 2, Float.NaN, 5, 2, -1};
        assertArrayEquals(new int[] {2, 0, 3, 4, 1}, Classifications.topIndices(logits, 5, 5, 5));
        assertArrayEquals(new int[] {2, 0}, Classifications.topIndices(logits, 5, 5, 2));
        assertArrayEquals(new int[] {2, 0, 3, 4, 1}, Classifications.topIndices(logits, 5, 5, 99));
        assertThrows(IllegalArgumentException.class, () -> Classifications.topIndices(logits, 5, 5, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> Classifications.topIndices(logits, 6, 5, 1));
    }

    @Test
    void aFewPickedInOnePassAsAFullStableSortOrdersThem() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + rnd.nextInt(1200);
            float[] v = new float[n + 3];
            for (int i = 0; i < v.length; i++) {
                int r = rnd.nextInt(20); // few distinct values (ties), NaN, infinities and both zeros among them
                v[i] = r == 0 ? Float.NaN : r == 1 ? -0.0f : r == 2 ? 0.0f : r == 3 ? Float.NEGATIVE_INFINITY : r == 4 ? Float.POSITIVE_INFINITY
                        : rnd.nextInt(9) - 4;
            }
            Integer[] order = new Integer[n];
            for (int c = 0; c < n; c++) order[c] = c;
            java.util.Arrays.sort(order, (a, b) -> Double.compare(-v[3 + a], -v[3 + b]));
            for (int k : new int[] {1, 5, 32, 33, n}) {
                int[] want = java.util.Arrays.stream(order, 0, Math.min(k, n)).mapToInt(Integer::intValue).toArray();
                assertArrayEquals(want, Classifications.topIndices(v, 3, n, k), "n " + n + ", k " + k);
            }
        }
    }

    @Test
    void topKCarriesIndexLabelAndSoftmaxProbability() {
        float[] logits = {0, 1, 3, 1, -2};
        Classifications c = Classifications.ofLogits("x.jpg", logits, 0, LABELS, List.of());
        double sum = 0, e = 0;
        for (float l : logits) sum += Math.exp(l);
        List<Classification> top = c.topK(3);
        assertEquals(3, top.size());
        assertEquals(new Classification(2, "c", c.probabilities()[2]), top.get(0));
        assertEquals(Math.exp(3) / sum, top.get(0).probability(), 1e-6);
        assertEquals(List.of(1, 3, 2), List.of(top.get(1).index(), top.get(2).index(), c.best().index()));
        assertEquals("b", top.get(1).label());
        for (float p : c.probabilities()) e += p;
        assertEquals(1, e, 1e-6);
        assertEquals(5, c.topK(7).size());
        assertThrows(IllegalArgumentException.class, () -> c.topK(0));
        assertEquals("x.jpg", c.source());
    }

    @Test
    void labelsAreImageNetsForAThousandClassesElseNumbered() {
        assertEquals("tench", Classifications.labelsFor(1000).getFirst());
        assertEquals(List.of("class 0", "class 1", "class 2"), Classifications.labelsFor(3));
        assertThrows(IndexOutOfBoundsException.class, () -> Classifications.labelsFor(3).get(3));
    }
}
