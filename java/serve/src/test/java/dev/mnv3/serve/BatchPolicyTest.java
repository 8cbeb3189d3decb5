package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BatchPolicyTest {
    @Test
    void theLadderHasAtMostFourSizesEndingAtTheMax() {
        assertArrayEquals(new int[] {1, 2, 4, 8}, BatchPolicy.ladder(8));
        assertArrayEquals(new int[] {1, 16, 32, 64}, BatchPolicy.ladder(64));
        assertArrayEquals(new int[] {1, 2, 3, 6}, BatchPolicy.ladder(6));
        assertArrayEquals(new int[] {1}, BatchPolicy.ladder(1));
        assertArrayEquals(new int[] {1, 2}, BatchPolicy.ladder(2));
    }

    @Test
    void aBatchRunsAtTheSmallestPaddedSizeThatHoldsIt() {
        BatchPolicy p = new BatchPolicy(8, 0, 10, BatchPolicy.ladder(8));
        assertEquals(1, p.paddedSize(1));
        assertEquals(4, p.paddedSize(3));
        assertEquals(8, p.paddedSize(5));
        assertEquals(8, p.paddedSize(8));
        assertEquals(5, new BatchPolicy(8, 0, 10).paddedSize(5), "without padding a batch runs as it is");
    }

    @Test
    void rejectsWhatCannotWork() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new BatchPolicy(0, 0, 1)).getMessage().contains("max batch size"));
        assertThrows(IllegalArgumentException.class, () -> new BatchPolicy(8, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> new BatchPolicy(8, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new BatchPolicy(8, 0, 1, new int[] {1, 4}), "must end at the max");
        assertThrows(IllegalArgumentException.class, () -> new BatchPolicy(8, 0, 1, new int[] {4, 2, 8}), "ascending");
    }
}
