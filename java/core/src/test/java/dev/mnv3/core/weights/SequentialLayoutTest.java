package dev.mnv3.core.weights;

import dev.mnv3.core.CheckpointLayout;
import static dev.mnv3.core.weights.WeightsTest.assertSameWeights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.SqueezeExciteSpec;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.ParamSpec;
import dev.mnv3.core.testing.ShippedModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The sequential layout (features.N.conv.K.*) of community MobileNetV3 code, on the network of
 * models/seed-large.json. The expected names follow the module order of such a bottleneck:
 * [expand conv, BN, act], depthwise conv, BN, act, [SE], project conv, BN.
 */
class SequentialLayoutTest {
    private static final Graph SEED = Graph.of(ShippedModels.seedLarge());
    private static final Map<String, String> NAMES = WeightNames.sourceNames(CheckpointLayout.SEQUENTIAL, SEED);

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "features.0.0.weight,               features.0.0.weight",
            "features.0.1.running_var,          features.0.1.running_var",
            // features.1: exp 16 = input 16, no expansion conv
            "features.1.block.0.0.weight,       features.1.conv.0.weight",
            "features.1.block.0.1.bias,         features.1.conv.1.bias",
            "features.1.block.1.0.weight,       features.1.conv.3.weight",
            "features.1.block.1.1.running_mean, features.1.conv.4.running_mean",
            // features.2: expansion, no SE
            "features.2.block.0.0.weight,       features.2.conv.0.weight",
            "features.2.block.0.1.weight,       features.2.conv.1.weight",
            "features.2.block.1.0.weight,       features.2.conv.3.weight",
            "features.2.block.2.0.weight,       features.2.conv.6.weight",
            "features.2.block.2.1.weight,       features.2.conv.7.weight",
            // features.4: expansion and SE, whose FCs sit at fc.0 and fc.2 (fc.1 is the ReLU)
            "features.4.block.1.1.running_var,  features.4.conv.4.running_var",
            "features.4.block.2.fc1.weight,     features.4.conv.6.fc.0.weight",
            "features.4.block.2.fc2.weight,     features.4.conv.6.fc.2.weight",
            "features.4.block.3.0.weight,       features.4.conv.7.weight",
            "features.4.block.3.1.running_var,  features.4.conv.8.running_var",
            "features.14.block.2.fc1.weight,    features.14.conv.6.fc.0.weight",
            "features.15.0.weight,              features.15.0.weight",
            "features.15.1.bias,                features.15.1.bias",
            "classifier.0.weight,               classifier.0.weight",
            "classifier.3.bias,                 classifier.3.bias"})
    void seedLargeNames(String canonical, String sequential) {
        assertEquals(sequential, NAMES.get(canonical));
    }

    @Test
    void biasFreeLinearSeHasOnlyWeightsWhileTorchvisionsSeKeepsItsBiases() {
        assertEquals(List.of("features.4.block.2.fc1.weight [18,72]", "features.4.block.2.fc2.weight [72,18]"),
                SEED.node("features.4").parameters().stream().filter(p -> p.name().contains(".fc")).map(ParamSpec::toString)
                        .toList());
        Graph conv = Graph.of(ShippedModels.seedLarge().withSqueezeExcite(SqueezeExciteSpec.TORCHVISION));
        assertEquals("features.4.conv.6.fc.0.bias", WeightNames.sourceNames(CheckpointLayout.SEQUENTIAL, conv).get("features.4.block.2.fc1.bias"));
        assertEquals("features.4.conv.6.fc.2.bias", WeightNames.sourceNames(CheckpointLayout.SEQUENTIAL, conv).get("features.4.block.2.fc2.bias"));
    }

    @Test
    void detectedByABlocksConvIndex() {
        assertEquals(CheckpointLayout.SEQUENTIAL, WeightNames.detect(Set.of("features.0.0.weight", "features.1.conv.0.weight")));
        assertEquals(CheckpointLayout.TORCHVISION, WeightNames.detect(Set.of("features.0.0.weight", "features.1.block.0.0.weight")));
        assertEquals(CheckpointLayout.TIMM, WeightNames.detect(Set.of("conv_stem.weight", "blocks.0.0.conv_dw.weight")));
    }

    /** The weights under sequential names, with BatchNorm counters as PyTorch writes them. */
    private Path write(Graph g, Weights w, CheckpointLayout names, String file) throws IOException {
        return PyTorchCheckpointTest.write(g, w, names, dir.resolve(file));
    }

    @Test
    void seedFileLoadsIntoTheCanonicalNames() throws IOException {
        Weights w = RandomWeights.generate(SEED, 4);
        assertSameWeights(w, Weights.load(write(SEED, w, CheckpointLayout.SEQUENTIAL, "seed.safetensors"), SEED));
    }

    @Test
    void seedFileForLargeSaysWhichNetworkTheFileLooksLike() throws IOException {
        Path seed = write(SEED, RandomWeights.generate(SEED, 5), CheckpointLayout.SEQUENTIAL, "seed.safetensors");
        Graph large = Graph.of(MobileNetV3Config.large().withBnEps(1e-5));
        var e = assertThrows(WeightMismatchException.class, () -> Weights.load(seed, large));
        assertTrue(e.getMessage().contains("\n  hint: the file looks like the sequential layout (features.N.conv.K.*) with 14 "
                + "bottlenecks and SE as Linear without bias; the model expects the sequential layout (features.N.conv.K.*) "
                + "with 15 bottlenecks and SE as 1x1 conv with bias"), e.getMessage());
        assertTrue(e.problems().contains("wrong shape: features.4.conv.6.fc.0.weight expected [24,72,1,1], found [18,72]"),
                e.getMessage());
    }

    @Test
    void aFileInAnotherLayoutThanTheTableDeclaresIsNamed() throws IOException {
        Weights w = RandomWeights.generate(SEED, 6);
        Path torchvisionNames = write(SEED, w, CheckpointLayout.TORCHVISION, "tv.safetensors");
        var e = assertThrows(WeightMismatchException.class, () -> Weights.load(torchvisionNames, SEED));
        assertTrue(e.getMessage().contains("\n  hint: the file's names look like torchvision's layout (features.N.block.K.*), "
                + "but the model declares the sequential layout (features.N.conv.K.*) (\"weight_names\" in its table)"),
                e.getMessage());
        // undeclared, the layout is detected and the same file loads
        Graph undeclared = Graph.of(MobileNetV3Config.custom("seed", 16, 1280, SEED.config().table())
                .withSqueezeExcite(SEED.config().squeezeExcite()));
        assertEquals(SEED.parameters(), undeclared.parameters());
        assertSameWeights(w, Weights.load(torchvisionNames, undeclared));
    }
}
