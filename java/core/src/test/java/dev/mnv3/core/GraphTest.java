package dev.mnv3.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.core.testing.ShippedModels;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GraphTest {

    /** Parameter totals printed by torchvision 0.14 for the same constructor arguments. */
    @ParameterizedTest(name = "{0} width {1} reducedTail {2} classes {3}")
    @CsvSource({
            "large, 1.0,  false, 1000, 5483032",
            "large, 0.75, false, 1000, 3377576",
            "large, 0.5,  false, 1000, 1734576",
            "large, 1.25, false, 1000, 8164744",
            "large, 1.0,  true,  1000, 2569352",
            "large, 1.0,  false, 10,   4214842",
            "small, 1.0,  false, 1000, 2542856",
            "small, 0.75, false, 1000, 1653920",
            "small, 0.5,  false, 1000, 917264",
            "small, 1.25, false, 1000, 3644912",
            "small, 1.0,  true,  1000, 1099672",
            "small, 1.0,  false, 10,   1528106",
    })
    void parameterTotalsMatchTorchvision(String model, double width, boolean reducedTail, int classes, long expected)
            throws Exception {
        MobileNetV3Config c = MobileNetV3Config.named(model).withWidth(width).withReducedTail(reducedTail).withClasses(classes);
        assertEquals(expected, Graph.of(c).params());
    }

    @Test
    void dilationDoesNotChangeParametersButHalvesOutputStride() {
        Graph g = Graph.of(MobileNetV3Config.large().withDilated(true));
        assertEquals(5483032, g.params());
        assertEquals(16, g.outputStride());
        List<Shape> shapes = g.inferShapes(224, 224);
        assertEquals(new Shape(960, 14, 14), shapes.get(17)); // output of features.16, as torchvision prints
        Bottleneck b = (Bottleneck) g.node("features.13");
        assertEquals(1, b.depthwise().stride());
        assertEquals(2, b.depthwise().dilation());
        assertEquals(4, b.depthwise().padding());
    }

    @Test
    void multiplyAddsAreAboutThePublishedOnes() {
        // torchvision documents 0.22 and 0.06 GFLOPS (multiply-adds) at 224x224
        long large = Graph.of(MobileNetV3Config.large()).macs(224, 224);
        long small = Graph.of(MobileNetV3Config.small()).macs(224, 224);
        assertTrue(Math.abs(large - 217e6) < 3e6, "large MACs " + large);
        assertTrue(Math.abs(small - 57e6) < 2e6, "small MACs " + small);
    }

    @Test
    void shapesFollowTheStridesForSquareAndNonSquareInputs() {
        Graph g = Graph.of(MobileNetV3Config.large());
        List<Shape> s = g.inferShapes(224, 224);
        assertEquals(new Shape(3, 224, 224), s.get(0));
        assertEquals(new Shape(16, 112, 112), s.get(1));
        assertEquals(new Shape(160, 7, 7), s.get(16));
        assertEquals(new Shape(960, 7, 7), s.get(17));
        assertEquals(new Shape(960, 1, 1), s.get(18));
        assertEquals(new Shape(1000, 1, 1), s.getLast());
        List<Shape> odd = g.inferShapes(197, 75);
        // each stride-2 conv with "same" padding maps n -> ceil(n / 2)
        assertEquals(new Shape(16, 99, 38), odd.get(1));
        assertEquals(new Shape(960, 7, 3), odd.get(17));
    }

    @Test
    void blocksFollowTorchvisionStructure() {
        Graph g = Graph.of(MobileNetV3Config.large());
        assertEquals(20, g.nodes().size()); // stem, 15 blocks, head conv, avgpool, 2 linear
        Bottleneck first = (Bottleneck) g.node("features.1");
        assertNull(first.expand(), "exp == in: no expansion");
        assertTrue(first.residual());
        assertEquals("features.1.block.0", first.depthwise().name());
        Bottleneck se = (Bottleneck) g.node("features.4");
        assertEquals(72, se.expSize());
        assertEquals(24, se.se().squeezeChannels()); // make_divisible(72 // 4, 8)
        assertEquals("features.4.block.2", se.se().name());
        assertEquals("features.4.block.3", se.project().name());
        Bottleneck down = (Bottleneck) g.node("features.2");
        assertTrue(!down.residual());
    }

    /** models/seed-large.json against the document's network (tools/reference/seed_large.py). */
    @Test
    void seedLargeHasTheDocumentsStructure() {
        Graph g = Graph.of(ShippedModels.seedLarge());
        assertEquals(19, g.nodes().size()); // stem, 14 blocks, head conv, avgpool, 2 linear
        assertEquals(4679968, g.params()); // sum of p.numel() over SeedMobileNetV3Large().parameters() in PyTorch
        assertEquals(3411778, Graph.of(ShippedModels.seedLarge().withClasses(10)).params());
        assertNull(((Bottleneck) g.node("features.1")).expand());
        assertEquals(List.of(18, 30, 30, 120, 168, 168, 240), g.nodes().stream()
                .filter(n -> n instanceof Bottleneck b && b.se() != null)
                .map(n -> ((Bottleneck) n).se().squeezeChannels()).toList()); // exp // 4, no rounding
        assertEquals(960, ((ConvBnAct) g.node("features.15")).outChannels());
        assertEquals(1280, ((Linear) g.node("classifier.0")).outFeatures());
        assertEquals(1e-5, g.config().bnEps());
        assertEquals(32, g.outputStride());
    }

    @Test
    void featureLevelsAreTheLastNodeAtEachStride() {
        List<FeatureLevel> large = Graph.of(MobileNetV3Config.large()).featureLevels();
        assertEquals(List.of("features.1", "features.3", "features.6", "features.12", "features.16"),
                large.stream().map(FeatureLevel::node).toList());
        assertEquals(List.of(16, 24, 40, 112, 960), large.stream().map(FeatureLevel::channels).toList());
        assertEquals(List.of(2, 4, 8, 16, 32), large.stream().map(FeatureLevel::stride).toList());
        List<FeatureLevel> small = Graph.of(MobileNetV3Config.small()).featureLevels();
        assertEquals(List.of("features.0", "features.1", "features.3", "features.8", "features.12"),
                small.stream().map(FeatureLevel::node).toList());
        assertEquals(List.of(16, 16, 24, 48, 576), small.stream().map(FeatureLevel::channels).toList());
        assertEquals(4, Graph.of(MobileNetV3Config.large().withDilated(true)).featureLevels().size());
    }

    @Test
    void minimalisticUsesSmallKernelsReluAndNoSe() {
        Graph g = Graph.of(MobileNetV3Config.large().withMinimalistic(true));
        for (var n : g.nodes()) {
            if (n instanceof Bottleneck b) {
                assertEquals(3, b.depthwise().kernel());
                assertNull(b.se());
                assertEquals(Activation.RELU, b.depthwise().activation());
            }
        }
        assertTrue(g.node("features.0").op().endsWith("RE"));
    }

    @Test
    void rejectsBadInputShapesWithClearMessages() {
        Graph g = Graph.of(MobileNetV3Config.small());
        var rank = assertThrows(IllegalArgumentException.class, () -> g.checkInput(new int[] {3, 224, 224}));
        assertTrue(rank.getMessage().contains("rank-4"), rank.getMessage());
        var channels = assertThrows(IllegalArgumentException.class, () -> g.checkInput(new int[] {1, 4, 224, 224}));
        assertTrue(channels.getMessage().contains("3 channels"), channels.getMessage());
        var small = assertThrows(IllegalArgumentException.class, () -> g.checkInput(new int[] {1, 3, 31, 224}));
        assertTrue(small.getMessage().contains("too small") && small.getMessage().contains(">= 32"), small.getMessage());
        g.checkInput(new int[] {1, 3, 32, 32});
        assertEquals(16, Graph.of(MobileNetV3Config.small().withDilated(true)).minInputSize());
    }
}
