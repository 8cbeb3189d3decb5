package dev.mnv3.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class BatchJobSlicesTest {
    @Test
    void partitionsFillEveryWaveOfTaskSlots() {
        assertEquals(6, BatchJob.slices(300, 64, 2)); // 5 partitions of 64 would leave one task alone in the last wave
        assertEquals(4, BatchJob.slices(256, 64, 2));
        assertEquals(8, BatchJob.slices(1000, 200, 4));
    }

    @Test
    void neverMorePartitionsThanImagesNorFewerThanOne() {
        assertEquals(3, BatchJob.slices(3, 64, 8));
        assertEquals(1, BatchJob.slices(1, 64, 2));
        assertEquals(2, BatchJob.slices(2, 1, 1));
    }
}
