package dev.mnv3.core.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TensorDiffTest {

    private static Tensor t(int[] shape, float... v) {
        return new Tensor(shape, v);
    }

    @Test
    void identicalTensorsHaveNoError() {
        TensorDiff d = TensorDiff.of(new float[] {1, -2, 3}, new float[] {1, -2, 3});
        assertEquals(0, d.relL2());
        assertEquals(0, d.maxAbs());
        assertEquals(3, d.maxAbsRef());
        assertTrue(d.within(0));
    }

    @Test
    void relativeL2AndMaxAbsOnCraftedValues() {
        // diff (0, 0, -1, 2): ||d|| = sqrt(5); ||r|| = sqrt(1 + 4 + 16 + 4) = 5
        TensorDiff d = TensorDiff.of(new float[] {1, 2, 3, 0}, new float[] {1, 2, 4, -2});
        assertEquals(Math.sqrt(5) / 5, d.relL2(), 1e-15);
        assertEquals(2, d.maxAbs());
        assertEquals(4, d.maxAbsRef());
        assertEquals(0.5, d.maxAbsScaled());
        assertTrue(d.within(0.45));
        assertFalse(d.within(0.44));
    }

    @Test
    void errorIsComputedInDoubleSoTinyDifferencesAreNotLost() {
        float one = 1f, next = Math.nextUp(1f);
        TensorDiff d = TensorDiff.of(new float[] {next, 1e-30f}, new float[] {one, 1e-30f});
        assertEquals(Math.ulp(1f), d.maxAbs());
        assertEquals(Math.ulp(1f), d.relL2(), 1e-15);
    }

    @Test
    void nanInTheCandidateFailsEveryTolerance() {
        TensorDiff d = TensorDiff.of(new float[] {1, Float.NaN}, new float[] {1, 2});
        assertTrue(Double.isNaN(d.relL2()));
        assertTrue(Double.isNaN(d.maxAbs()));
        assertFalse(d.within(1e9));
        assertFalse(d.within(Double.POSITIVE_INFINITY));
    }

    @Test
    void nanInTheReferenceFailsToo() {
        assertFalse(TensorDiff.of(new float[] {1, 2}, new float[] {1, Float.NaN}).within(1));
    }

    @Test
    void infinityFailsEvenWhenBothSidesAreInfinite() {
        assertFalse(TensorDiff.of(new float[] {Float.POSITIVE_INFINITY}, new float[] {1}).within(1e9));
        assertFalse(TensorDiff.of(new float[] {Float.POSITIVE_INFINITY}, new float[] {Float.POSITIVE_INFINITY}).within(1e9));
    }

    @Test
    void zeroReference() {
        assertEquals(0, TensorDiff.of(new float[] {0, 0}, new float[] {0, 0}).relL2());
        TensorDiff d = TensorDiff.of(new float[] {0, 1e-3f}, new float[] {0, 0});
        assertEquals(Double.POSITIVE_INFINITY, d.relL2());
        assertFalse(d.within(1));
        assertEquals(1e-3f, d.maxAbsScaled(), 1e-12, "with max |ref| = 0 the scaled error is the absolute one");
    }

    @Test
    void emptyTensorsAreEqual() {
        assertTrue(TensorDiff.of(new float[0], new float[0]).within(0));
    }

    @Test
    void shapeMismatchThrowsEvenWithEqualSizes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> TensorDiff.of(t(new int[] {2, 3}, new float[6]), t(new int[] {3, 2}, new float[6])));
        assertEquals("shape [2,3] differs from reference [3,2]", e.getMessage());
    }

    @Test
    void lengthMismatchThrows() {
        var e = assertThrows(IllegalArgumentException.class, () -> TensorDiff.of(new float[2], new float[3]));
        assertEquals("lengths differ: 2 vs 3", e.getMessage());
    }

    @Test
    void tensorOverloadComparesData() {
        TensorDiff d = TensorDiff.of(t(new int[] {1, 2}, 3, 4), t(new int[] {1, 2}, 3, 5));
        assertEquals(1, d.maxAbs());
        assertEquals(1 / Math.sqrt(34), d.relL2(), 1e-15);
    }
}
