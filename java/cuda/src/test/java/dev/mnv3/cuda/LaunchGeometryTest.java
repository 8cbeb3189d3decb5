package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import dev.mnv3.cuda.plan.LaunchGeometry;

class LaunchGeometryTest {
    @Test
    void elementwiseCoversSmallTensorsWithFewBlocksAndCapsLargeOnes() {
        assertEquals(new LaunchGeometry.Launch(1, 1, 256, 0), LaunchGeometry.elementwise(1, 132));
        assertEquals(1, LaunchGeometry.elementwise(256, 132).gridX());
        assertEquals(2, LaunchGeometry.elementwise(257, 132).gridX());
        assertEquals(132 * LaunchGeometry.BLOCKS_PER_SM, LaunchGeometry.elementwise(64L * 64 * 112 * 112, 132).gridX());
        assertEquals(LaunchGeometry.BLOCKS_PER_SM, LaunchGeometry.elementwise(1L << 40, 0).gridX(), "unknown SM count still launches");
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.elementwise(0, 132));
    }

    @Test
    void warpPerRowPutsEightRowsInABlockAndTheBatchInY() {
        assertEquals(new LaunchGeometry.Launch(1, 1, 256, 0), LaunchGeometry.warpPerRow(1, 1));
        assertEquals(new LaunchGeometry.Launch(125, 64, 256, 0), LaunchGeometry.warpPerRow(1000, 64));
        assertEquals(2, LaunchGeometry.warpPerRow(9, 1).gridX());
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.warpPerRow(10, 70_000));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.warpPerRow(0, 1));
    }

    @Test
    void theNchwGemmTilesPixelsAndChannelsBy64AndLoopsOverImagesPastTheZLimit() {
        assertEquals(new LaunchGeometry.Launch(196, 1, 2, 128, 1, 0), LaunchGeometry.pointwiseNchw(12544, 64, 2));
        assertEquals(new LaunchGeometry.Launch(1, 20, 256, 128, 1, 0), LaunchGeometry.pointwiseNchw(49, 1280, 256));
        assertEquals(LaunchGeometry.MAX_GRID_Y, LaunchGeometry.pointwiseNchw(1, 8, 100_000).gridZ(), "the kernel loops over the rest");
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.pointwiseNchw(0, 8, 1));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.pointwiseNchw(1, 8, 0));
    }
}
