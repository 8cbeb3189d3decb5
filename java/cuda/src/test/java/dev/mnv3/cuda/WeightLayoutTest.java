package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.testing.ShippedModels;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import dev.mnv3.cuda.plan.StorageType;
import dev.mnv3.cuda.plan.WeightLayout;

class WeightLayoutTest {
    @Test
    void arraysAreAlignedAndDoNotOverlap() {
        Graph g = Graph.of(MobileNetV3Config.large());
        WeightLayout layout = WeightLayout.of(g, RandomWeights.generate(g, 1));
        List<WeightLayout.Entry> entries = new ArrayList<>(layout.entries().values());
        long end = 0;
        for (WeightLayout.Entry e : entries) {
            assertEquals(0, e.offset() % WeightLayout.ALIGN_BYTES, e.key());
            assertTrue(e.offset() >= end, e.key() + " overlaps the previous array");
            end = e.offset() + e.bytes();
        }
        assertTrue(end <= layout.totalBytes());
        // every trainable parameter is there once, BatchNorm folded into its conv
        long floats = entries.stream().mapToLong(e -> e.data().length).sum();
        assertEquals(g.params() - bnScalesAndShifts(g), floats);
        assertThrows(IllegalArgumentException.class, () -> layout.offset("features.0.0.weight"));
    }

    /** A bias-free SE is uploaded with zero biases under the usual keys, so the SE kernels run unchanged. */
    @Test
    void biasFreeSeGetsZeroBiasArrays() {
        Graph g = Graph.of(ShippedModels.seedLarge());
        Weights w = RandomWeights.generate(g, 2);
        for (StorageType storage : StorageType.values()) {
            WeightLayout layout = WeightLayout.of(g, w, storage);
            assertArrayEquals(new float[18], layout.entry("features.4.block.2.fc1.bias").data());
            assertArrayEquals(new float[72], layout.entry("features.4.block.2.fc2.bias").data());
            assertEquals(StorageType.F32, layout.entry("features.4.block.2.fc1.bias").type());
            assertArrayEquals(w.data("features.4.block.2.fc1.weight"), layout.entry("features.4.block.2.fc1.weight").data());
            assertArrayEquals(w.data("features.14.block.2.fc2.weight"), layout.entry("features.14.block.2.fc2.weight").data());
        }
    }

    /** Folding turns each BatchNorm's gamma and beta (2 per channel) into one bias per channel. */
    private static long bnScalesAndShifts(Graph g) {
        return g.parameters().stream().filter(p -> p.name().endsWith(".1.weight")).mapToLong(p -> p.numel()).sum();
    }
}
