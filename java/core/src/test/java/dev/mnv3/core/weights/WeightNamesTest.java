package dev.mnv3.core.weights;

import dev.mnv3.core.CheckpointLayout;
import dev.mnv3.core.tensor.DType;
import static dev.mnv3.core.weights.WeightsTest.assertSameWeights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.ParamSpec;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.testing.ShippedModels;
import dev.mnv3.core.weights.SafeTensorsWriter.Blob;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * timm's names for torchvision's tensors. Expectations follow timm's mobilenetv3.py arch_def: Large has
 * stages of [1, 2, 3, 4, 2, 3] blocks, Small [1, 2, 3, 2, 3], then the head conv as a stage of its own.
 */
class WeightNamesTest {
    private static final Graph LARGE = Graph.of(MobileNetV3Config.large());
    private static final Graph SMALL = Graph.of(MobileNetV3Config.small());
    private static final Map<String, String> LARGE_TIMM = WeightNames.sourceNames(CheckpointLayout.TIMM, LARGE);
    private static final Map<String, String> SMALL_TIMM = WeightNames.sourceNames(CheckpointLayout.TIMM, SMALL);

    @TempDir
    Path dir;

    @Test
    void detectsTimmByItsStem() {
        assertEquals(CheckpointLayout.TIMM, WeightNames.detect(Set.of("conv_stem.weight", "bn1.weight")));
        assertEquals(CheckpointLayout.TORCHVISION, WeightNames.detect(Set.of("features.0.0.weight")));
        assertEquals(CheckpointLayout.TORCHVISION, WeightNames.detect(Set.of()));
    }

    @Test
    void torchvisionNamesMapToThemselves() {
        Map<String, String> m = WeightNames.sourceNames(CheckpointLayout.TORCHVISION, LARGE);
        assertEquals(LARGE.parameters().size(), m.size());
        m.forEach((k, v) -> assertEquals(k, v));
    }

    @ParameterizedTest(name = "large {0} -> {1}")
    @CsvSource({
            "features.0.0.weight,                 conv_stem.weight",
            "features.0.1.weight,                 bn1.weight",
            "features.0.1.running_mean,           bn1.running_mean",
            // features.1: no expansion, timm's DepthwiseSeparable
            "features.1.block.0.0.weight,         blocks.0.0.conv_dw.weight",
            "features.1.block.0.1.running_var,    blocks.0.0.bn1.running_var",
            "features.1.block.1.0.weight,         blocks.0.0.conv_pw.weight",
            "features.1.block.1.1.bias,           blocks.0.0.bn2.bias",
            // features.2: InvertedResidual
            "features.2.block.0.0.weight,         blocks.1.0.conv_pw.weight",
            "features.2.block.0.1.weight,         blocks.1.0.bn1.weight",
            "features.2.block.1.0.weight,         blocks.1.0.conv_dw.weight",
            "features.2.block.1.1.running_mean,   blocks.1.0.bn2.running_mean",
            "features.2.block.2.0.weight,         blocks.1.0.conv_pwl.weight",
            "features.2.block.2.1.weight,         blocks.1.0.bn3.weight",
            "features.3.block.0.0.weight,         blocks.1.1.conv_pw.weight",
            // features.4: first block with squeeze-excitation
            "features.4.block.2.fc1.weight,       blocks.2.0.se.conv_reduce.weight",
            "features.4.block.2.fc1.bias,         blocks.2.0.se.conv_reduce.bias",
            "features.4.block.2.fc2.weight,       blocks.2.0.se.conv_expand.weight",
            "features.4.block.2.fc2.bias,         blocks.2.0.se.conv_expand.bias",
            "features.4.block.3.0.weight,         blocks.2.0.conv_pwl.weight",
            "features.6.block.1.0.weight,         blocks.2.2.conv_dw.weight",
            "features.7.block.0.0.weight,         blocks.3.0.conv_pw.weight",
            "features.10.block.2.1.bias,          blocks.3.3.bn3.bias",
            "features.11.block.0.0.weight,        blocks.4.0.conv_pw.weight",
            "features.12.block.2.fc1.weight,      blocks.4.1.se.conv_reduce.weight",
            "features.13.block.1.0.weight,        blocks.5.0.conv_dw.weight",
            "features.15.block.3.0.weight,        blocks.5.2.conv_pwl.weight",
            // head conv: timm's ConvBnAct stage
            "features.16.0.weight,                blocks.6.0.conv.weight",
            "features.16.1.weight,                blocks.6.0.bn1.weight",
            "features.16.1.running_var,           blocks.6.0.bn1.running_var",
            "classifier.0.weight,                 conv_head.weight",
            "classifier.0.bias,                   conv_head.bias",
            "classifier.3.weight,                 classifier.weight",
            "classifier.3.bias,                   classifier.bias"})
    void largeNames(String torchvision, String timm) {
        assertEquals(timm, LARGE_TIMM.get(torchvision));
    }

    @ParameterizedTest(name = "small {0} -> {1}")
    @CsvSource({
            "features.0.0.weight,                 conv_stem.weight",
            // features.1: no expansion but SE: conv_dw, bn1, se, conv_pw, bn2
            "features.1.block.0.0.weight,         blocks.0.0.conv_dw.weight",
            "features.1.block.0.1.weight,         blocks.0.0.bn1.weight",
            "features.1.block.1.fc1.weight,       blocks.0.0.se.conv_reduce.weight",
            "features.1.block.1.fc2.bias,         blocks.0.0.se.conv_expand.bias",
            "features.1.block.2.0.weight,         blocks.0.0.conv_pw.weight",
            "features.1.block.2.1.running_mean,   blocks.0.0.bn2.running_mean",
            "features.2.block.0.0.weight,         blocks.1.0.conv_pw.weight",
            "features.3.block.2.0.weight,         blocks.1.1.conv_pwl.weight",
            "features.4.block.2.fc1.weight,       blocks.2.0.se.conv_reduce.weight",
            "features.6.block.3.0.weight,         blocks.2.2.conv_pwl.weight",
            "features.7.block.0.0.weight,         blocks.3.0.conv_pw.weight",
            "features.8.block.1.0.weight,         blocks.3.1.conv_dw.weight",
            "features.9.block.0.0.weight,         blocks.4.0.conv_pw.weight",
            "features.11.block.3.1.bias,          blocks.4.2.bn3.bias",
            "features.12.0.weight,                blocks.5.0.conv.weight",
            "features.12.1.bias,                  blocks.5.0.bn1.bias",
            "classifier.0.weight,                 conv_head.weight",
            "classifier.3.weight,                 classifier.weight"})
    void smallNames(String torchvision, String timm) {
        assertEquals(timm, SMALL_TIMM.get(torchvision));
    }

    @ParameterizedTest
    @EnumSource(CheckpointLayout.class)
    void everyParameterHasItsOwnName(CheckpointLayout names) {
        for (Graph g : List.of(LARGE, SMALL, Graph.of(MobileNetV3Config.small().withWidth(0.5)),
                Graph.of(ShippedModels.seedLarge()))) {
            Map<String, String> m = WeightNames.sourceNames(names, g);
            Set<String> params = new HashSet<>();
            for (ParamSpec p : g.parameters()) params.add(p.name());
            assertEquals(params, m.keySet());
            assertEquals(m.size(), new HashSet<>(m.values()).size(), "two tensors share a name in " + names);
        }
    }

    /** "blocks.S.B" of each bottleneck, in graph order. */
    private static List<String> timmBlocks(Graph g) {
        Map<String, String> m = WeightNames.sourceNames(CheckpointLayout.TIMM, g);
        List<String> out = new ArrayList<>();
        for (var n : g.nodes()) {
            if (n instanceof Bottleneck b) {
                String dw = m.get(b.depthwise().weightName());
                out.add(dw.substring(0, dw.indexOf(".conv_dw")));
            }
        }
        return out;
    }

    /** The "blocks.S.B" sequence timm's arch_def gives for stages of the given lengths. */
    private static List<String> stages(int... lengths) {
        List<String> out = new ArrayList<>();
        for (int s = 0; s < lengths.length; s++) {
            for (int b = 0; b < lengths[s]; b++) out.add("blocks." + s + "." + b);
        }
        return out;
    }

    @ParameterizedTest(name = "{0} width {1} minimalistic {2} dilated {3}")
    @CsvSource({"large, 1.0, false, false", "large, 0.75, false, false", "large, 0.5, false, false",
            "large, 1.25, false, false", "large, 1.0, true, false", "large, 1.0, false, true",
            "large, 0.35, false, false"})
    void largeStagesFollowTimmsArchDefAtEveryWidth(String model, double width, boolean minimal, boolean dilated)
            throws IOException {
        Graph g = Graph.of(MobileNetV3Config.named(model).withWidth(width).withMinimalistic(minimal).withDilated(dilated));
        assertEquals(stages(1, 2, 3, 4, 2, 3), timmBlocks(g));
        assertEquals("blocks.6.0.conv.weight", WeightNames.sourceNames(CheckpointLayout.TIMM, g).get("features.16.0.weight"));
    }

    @ParameterizedTest(name = "{0} width {1} minimalistic {2}")
    @CsvSource({"small, 1.0, false", "small, 0.75, false", "small, 0.5, false", "small, 1.0, true",
            "small, 0.35, false"})
    void smallStagesFollowTimmsArchDefAtEveryWidth(String model, double width, boolean minimal) throws IOException {
        Graph g = Graph.of(MobileNetV3Config.named(model).withWidth(width).withMinimalistic(minimal));
        assertEquals(stages(1, 2, 3, 2, 3), timmBlocks(g));
        assertEquals("blocks.5.0.conv.weight", WeightNames.sourceNames(CheckpointLayout.TIMM, g).get("features.12.0.weight"));
    }

    // ---------------------------------------------------------------- loading timm files

    /** The weights under timm names, with timm's 1x1 conv_head kernel [out, in, 1, 1] and its BN counters. */
    /** The file's weights for g's network with the file's layout (and so timm's eps), as Checkpoint gives them. */
    static Weights loadAsTrained(Path file, Graph g) throws IOException {
        try (Checkpoint c = Checkpoint.open(file)) {
            return c.weightsFor(Graph.of(c.configFor(g.config())));
        }
    }

    private Path writeTimm(Graph g, Weights w) throws IOException {
        Map<String, String> names = WeightNames.sourceNames(CheckpointLayout.TIMM, g);
        List<Blob> blobs = new ArrayList<>();
        for (ParamSpec p : g.parameters()) {
            Tensor t = w.get(p.name());
            String name = names.get(p.name());
            if (name.equals("conv_head.weight")) t = t.reshape(t.dim(0), t.dim(1), 1, 1);
            blobs.add(Blob.of(name, t, DType.F32));
            if (name.endsWith(".running_var")) {
                blobs.add(Blob.ofLongs(name.replace("running_var", "num_batches_tracked"), new long[0], new long[] {1}));
            }
        }
        Path file = dir.resolve("timm.safetensors");
        SafeTensorsWriter.write(file, blobs, Map.of("source", "timm"));
        return file;
    }

    @Test
    void timmFileLoadsIntoTheCanonicalNames() throws IOException {
        Weights w = RandomWeights.generate(LARGE, 8);
        Path file = writeTimm(LARGE, w);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals("[1280,960,1,1]", st.entry("conv_head.weight").shapeString());
            assertTrue(st.contains("blocks.6.0.bn1.num_batches_tracked"));
        }
        assertSameWeights(w, loadAsTrained(file, LARGE));
    }

    @Test
    void timmSmallHalfWidthFileLoads() throws IOException {
        Graph g = Graph.of(MobileNetV3Config.small().withWidth(0.5));
        Weights w = RandomWeights.generate(g, 9);
        assertSameWeights(w, loadAsTrained(writeTimm(g, w), g));
    }

    @Test
    void timmConvHeadStoredAsAMatrixAlsoLoads() throws IOException {
        Weights w = RandomWeights.generate(SMALL, 10);
        Map<String, String> names = WeightNames.sourceNames(CheckpointLayout.TIMM, SMALL);
        List<Blob> blobs = new ArrayList<>();
        for (ParamSpec p : SMALL.parameters()) blobs.add(Blob.of(names.get(p.name()), w.get(p.name()), DType.F32));
        Path file = dir.resolve("timm2d.safetensors");
        SafeTensorsWriter.write(file, blobs, null);
        assertSameWeights(w, loadAsTrained(file, SMALL));
    }

    @Test
    void problemsInATimmFileUseTimmNames() throws IOException {
        Weights w = RandomWeights.generate(SMALL, 11);
        Map<String, String> names = WeightNames.sourceNames(CheckpointLayout.TIMM, SMALL);
        List<Blob> blobs = new ArrayList<>();
        for (ParamSpec p : SMALL.parameters()) {
            String n = names.get(p.name());
            if (n.equals("blocks.0.0.conv_dw.weight")) continue;
            Tensor t = n.equals("conv_head.weight") ? Tensor.zeros(1024, 576, 3, 3) : w.get(p.name());
            blobs.add(Blob.of(n, t, DType.F32));
        }
        Path file = dir.resolve("broken-timm.safetensors");
        SafeTensorsWriter.write(file, blobs, null);
        var e = assertThrows(WeightMismatchException.class, () -> loadAsTrained(file, SMALL));
        assertEquals(List.of("missing: blocks.0.0.conv_dw.weight [16,1,3,3]",
                "wrong shape: conv_head.weight expected [1024,576], found [1024,576,3,3]"), e.problems());
    }
}
