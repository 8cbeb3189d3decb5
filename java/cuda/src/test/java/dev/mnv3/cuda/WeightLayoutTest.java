package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.RandomWeights;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

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

    /** Folding turns each BatchNorm's gamma and beta (2 per channel) into one bias per channel. */
    private static long bnScalesAndShifts(Graph g) {
        return g.parameters().stream().filter(p -> p.name().endsWith(".1.weight")).mapToLong(p -> p.numel()).sum();
    }
}
