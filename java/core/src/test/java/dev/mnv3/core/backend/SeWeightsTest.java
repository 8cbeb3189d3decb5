package dev.mnv3.core.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.testing.ShippedModels;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import org.junit.jupiter.api.Test;

class SeWeightsTest {
    @Test
    void biasFreeSeGetsZeroBiasesOfTheFcWidths() {
        Graph g = Graph.of(ShippedModels.seedLarge());
        Weights w = RandomWeights.generate(g, 1);
        Bottleneck b = (Bottleneck) g.node("features.4");
        SeWeights se = SeWeights.of(b.se(), w);
        assertArrayEquals(new float[18], se.fc1Bias());
        assertArrayEquals(new float[72], se.fc2Bias());
        assertSame(w.data("features.4.block.2.fc1.weight"), se.fc1Weight());
        assertSame(w.data("features.4.block.2.fc2.weight"), se.fc2Weight());
    }

    @Test
    void torchvisionSeKeepsItsBiases() {
        Graph g = Graph.of(MobileNetV3Config.large());
        Weights w = RandomWeights.generate(g, 1);
        SeWeights se = SeWeights.of(((Bottleneck) g.node("features.4")).se(), w);
        assertSame(w.data("features.4.block.2.fc1.bias"), se.fc1Bias());
        assertSame(w.data("features.4.block.2.fc2.bias"), se.fc2Bias());
    }
}
