package dev.mnv3.core;

import static dev.mnv3.core.Activation.HARDSWISH;
import static dev.mnv3.core.Activation.RELU;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.core.testing.ShippedModels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class MobileNetV3ConfigTest {

    @TempDir
    Path dir;

    private Path table(String json) throws IOException {
        return Files.writeString(dir.resolve("table.json"), json);
    }

    // ---------------------------------------------------------------- make_divisible

    /** torchvision's _make_divisible(v, 8), written out as the Python does it. */
    private static int torchvisionMakeDivisible(double v) {
        long newV = Math.max(8, (long) Math.floor(v + 8 / 2.0) / 8 * 8);
        if (newV < 0.9 * v) newV += 8;
        return (int) newV;
    }

    @Test
    void makeDivisibleMatchesTheFormulaOverEveryChannelCountAndCommonWidths() {
        for (double width : new double[] {0.25, 0.35, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0}) {
            for (int channels = 1; channels <= 1536; channels++) {
                double v = channels * width;
                assertEquals(torchvisionMakeDivisible(v), MobileNetV3Config.makeDivisible(v, 8), "v = " + channels + " * " + width);
            }
        }
    }

    /** Values printed by torchvision 0.14's _make_divisible. */
    @ParameterizedTest(name = "make_divisible({0}) = {1}")
    @CsvSource({"12, 16", "54, 56", "720, 720", "960, 960", "66, 64", "1, 8", "3.9, 8", "4, 8", "11.9, 16", "12, 16",
            "19.9, 24", "20, 24", "36, 40", "44, 48"})
    void makeDivisibleMatchesTorchvision(double v, int expected) {
        assertEquals(expected, MobileNetV3Config.makeDivisible(v, 8));
    }

    @Test
    void widthScalingGoesThroughMakeDivisible() {
        MobileNetV3Config c = MobileNetV3Config.large().withWidth(0.75);
        assertEquals(16, c.scaled(16)); // make_divisible(16 * 0.75) = 16
        assertEquals(56, c.scaled(72));
        assertEquals(720, c.scaled(960));
        assertEquals(960, c.scaled(1280));
        assertEquals(64, c.scaled(88));
        assertEquals(16, MobileNetV3Config.small().withWidth(0.5).scaled(24));
    }

    // ---------------------------------------------------------------- named

    @ParameterizedTest
    @CsvSource({"large, large", "LARGE, large", "mobilenet_v3_large, large", "small, small", "Small, small",
            "mobilenet_v3_small, small"})
    void namedAcceptsBuiltInNamesInAnyCase(String given, String expected) throws IOException {
        assertEquals(expected, MobileNetV3Config.named(given).name());
    }

    @Test
    void namedRejectsUnknownNamesListingTheExpectedOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> MobileNetV3Config.named("medium"));
        assertTrue(e.getMessage().contains("'medium'"), e.getMessage());
        assertTrue(e.getMessage().contains("large, small or the path of a JSON table file"), e.getMessage());
    }

    @Test
    void namedReadsATableFilePath() throws IOException {
        Path p = table("{\"name\": \"one\", \"blocks\": [{\"kernel\": 3, \"exp\": 16, \"out\": 16}]}");
        MobileNetV3Config c = MobileNetV3Config.named(p.toString());
        assertEquals("one", c.name());
        assertEquals(1, c.table().size());
    }

    // ---------------------------------------------------------------- table files

    private static final String TINY = """
            {"name": "tiny", "stem": 8, "last_channel": 256,
             "blocks": [
               {"kernel": 3, "exp": 8,  "out": 8,  "se": true, "act": "RE", "stride": 2},
               {"kernel": 5, "exp": 32, "out": 16, "act": "HS", "stride": 2},
               {"kernel": 3, "exp": 48, "out": 16},
               {"kernel": 3, "exp": 64, "out": 24, "se": false, "act": "hardswish", "stride": 2, "dilation": 1}
             ]}
            """;

    @Test
    void tableFileDefinesTheRows() throws IOException {
        MobileNetV3Config c = MobileNetV3Config.fromJson(table(TINY));
        assertEquals("tiny", c.name());
        assertEquals(8, c.stemChannels());
        assertEquals(256, c.lastChannel());
        assertEquals(List.of(
                new BottleneckSpec(3, 8, 8, true, RELU, 2),
                new BottleneckSpec(5, 32, 16, false, HARDSWISH, 2),
                new BottleneckSpec(3, 48, 16, false, RELU, 1),
                new BottleneckSpec(3, 64, 24, false, HARDSWISH, 2, 1)), c.table());
        assertEquals(1.0, c.widthMultiplier());
        assertEquals(1000, c.numClasses());
        assertEquals(MobileNetV3Config.TORCHVISION_BN_EPS, c.bnEps());
    }

    @Test
    void tableFileBuildsAGraphWhoseShapesInfer() throws IOException {
        Graph g = Graph.of(MobileNetV3Config.fromJson(table(TINY)));
        assertEquals(9, g.nodes().size()); // stem, 4 blocks, head conv, avgpool, 2 linear
        assertEquals(16, g.outputStride());
        assertEquals(List.of(new Shape(3, 64, 64), new Shape(8, 32, 32), new Shape(8, 16, 16), new Shape(16, 8, 8),
                new Shape(16, 8, 8), new Shape(24, 4, 4), new Shape(144, 4, 4), new Shape(144, 1, 1),
                new Shape(256, 1, 1), new Shape(1000, 1, 1)), g.inferShapes(64, 64));
        Bottleneck first = (Bottleneck) g.node("features.1");
        assertNull(first.expand(), "exp 8 == stem 8: no expansion");
        assertEquals(8, first.se().squeezeChannels()); // make_divisible(8 // 4, 8)
        assertTrue(((Bottleneck) g.node("features.3")).residual());
        assertFalse(((Bottleneck) g.node("features.4")).residual());
    }

    @Test
    void tableFileOptionalFieldsTakeTheirDefaults() throws IOException {
        Path p = Files.writeString(dir.resolve("mine.json"), "{\"blocks\": [{\"kernel\": 5, \"exp\": 16, \"out\": 24}]}");
        MobileNetV3Config c = MobileNetV3Config.fromJson(p);
        assertEquals("mine.json", c.name());
        assertEquals(16, c.stemChannels());
        assertEquals(1280, c.lastChannel());
        assertEquals(List.of(new BottleneckSpec(5, 16, 24, false, RELU, 1, 1)), c.table());
    }

    private static final String ROW = "{\"kernel\": 3, \"exp\": 16, \"out\": 16}";

    private static Arguments bad(String json, String... fragments) {
        return Arguments.of(json, fragments);
    }

    static Stream<Arguments> badTables() {
        return Stream.of(
                bad("[1]", "the table file must be a JSON object, found an array"),
                bad("{\"blocks\": [", "invalid JSON at offset 12"),
                bad("{\"name\": \"x\"}", "missing \"blocks\""),
                bad("{\"blocks\": {}}", "blocks must be a JSON array, found an object"),
                bad("{\"blocks\": []}", "the bottleneck table is empty"),
                bad("{\"blocks\": [" + ROW + ", 3]}", "blocks[1] must be a JSON object, found the number 3"),
                bad("{\"blocks\": [" + ROW + ", {\"exp\": 16, \"out\": 16}]}", "blocks[1]: missing \"kernel\""),
                bad("{\"blocks\": [{\"kernel\": 3, \"out\": 16}]}", "blocks[0]: missing \"exp\""),
                bad("{\"blocks\": [{\"kernel\": 3, \"exp\": 16}]}", "blocks[0]: missing \"out\""),
                bad("{\"blocks\": [" + ROW + ", {\"kernel\": 4, \"exp\": 16, \"out\": 16}]}",
                        "blocks[1]: ", "kernel must be odd, from 1 to 31, got 4"),
                bad("{\"blocks\": [" + ROW + ", {\"kernel\": 3, \"exp\": 16, \"out\": 16, \"stride\": 3}]}",
                        "blocks[1]: ", "stride must be 1 or 2, got 3"),
                bad("{\"blocks\": [{\"kernel\": 3, \"exp\": 16, \"out\": 16, \"dilation\": 0}]}",
                        "blocks[0]: ", "dilation must be from 1 to 16, got 0"),
                bad("{\"blocks\": [{\"kernel\": 3, \"exp\": 0, \"out\": 16}]}",
                        "blocks[0]: ", "exp size and out channels must be from 1 to 65536"),
                bad("{\"blocks\": [" + ROW + ", {\"kernel\": 3, \"exp\": 16, \"out\": 16, \"kernal\": 5}]}",
                        "blocks[1]: unknown field \"kernal\"", "allowed: kernel, exp, out, se, act, stride, dilation"),
                bad("{\"width\": 0.5, \"blocks\": [" + ROW + "]}", "the table file: unknown field \"width\""),
                bad("{\"blocks\": [" + ROW + ", {\"kernel\": 3, \"exp\": 16, \"out\": 16, \"act\": \"swish\"}]}",
                        "blocks[1]: ", "unknown activation 'swish'"),
                bad("{\"blocks\": [" + ROW + ", {\"kernel\": \"3\", \"exp\": 16, \"out\": 16}]}",
                        "blocks[1].kernel must be an integer, found a string"),
                bad("{\"blocks\": [{\"kernel\": 3, \"exp\": 16.5, \"out\": 16}]}",
                        "blocks[0].exp must be an integer, found the number 16.5"),
                bad("{\"blocks\": [{\"kernel\": 3, \"exp\": 16, \"out\": 16, \"se\": \"yes\"}]}",
                        "blocks[0].se must be true or false, found a string"),
                bad("{\"blocks\": [{\"kernel\": 3, \"exp\": 16, \"out\": 16, \"act\": 1}]}",
                        "blocks[0].act must be a string, found the number 1"),
                bad("{\"stem\": \"16\", \"blocks\": [" + ROW + "]}", "stem must be an integer, found a string"),
                bad("{\"last_channel\": true, \"blocks\": [" + ROW + "]}", "last_channel must be an integer, found a boolean"),
                bad("{\"name\": 5, \"blocks\": [" + ROW + "]}", "name must be a string, found the number 5"),
                bad("{\"stem\": 0, \"blocks\": [" + ROW + "]}", "stem and last channels must be from 1 to 65536, got stem 0"),
                bad("{\"se_layer\": {\"layer\": \"fc\"}, \"blocks\": [" + ROW + "]}",
                        "se_layer.layer must be \"conv\" or \"linear\", got \"fc\""),
                bad("{\"se_layer\": {\"reduction\": 4}, \"blocks\": [" + ROW + "]}",
                        "se_layer: unknown field \"reduction\"", "allowed: layer, bias, divisor, round_to"),
                bad("{\"se_layer\": {\"divisor\": 0}, \"blocks\": [" + ROW + "]}",
                        "se_layer: SE divisor and round_to must be >= 1, got 0 and 8"),
                bad("{\"se_layer\": {\"bias\": \"no\"}, \"blocks\": [" + ROW + "]}", "se_layer.bias must be true or false"),
                bad("{\"se_layer\": true, \"blocks\": [" + ROW + "]}", "se_layer must be a JSON object, found a boolean"),
                bad("{\"weight_names\": \"keras\", \"blocks\": [" + ROW + "]}",
                        "unknown weight names 'keras' (expected torchvision, timm or sequential)"),
                bad("{\"bn_eps\": \"1e-5\", \"blocks\": [" + ROW + "]}", "bn_eps must be a number, found a string"),
                bad("{\"bn_eps\": 0, \"blocks\": [" + ROW + "]}", "BatchNorm eps must be > 0, got 0.0"));
    }

    @ParameterizedTest
    @MethodSource("badTables")
    void badTableFilesNameTheFileAndTheOffendingField(String json, String[] fragments) throws IOException {
        Path p = table(json);
        var e = assertThrows(IllegalArgumentException.class, () -> MobileNetV3Config.fromJson(p));
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "expected '" + f + "' in: " + e.getMessage());
    }

    // ---------------------------------------------------------------- SE layer, BatchNorm eps, weight names

    @Test
    void tableFileDeclaresTheSeLayerTheEpsAndTheWeightNames() throws IOException {
        MobileNetV3Config c = MobileNetV3Config.fromJson(table("{\"bn_eps\": 1e-5, \"weight_names\": \"sequential\", "
                + "\"se_layer\": {\"layer\": \"linear\", \"bias\": false, \"divisor\": 4, \"round_to\": 1}, \"blocks\": ["
                + ROW + "]}"));
        assertEquals(new SqueezeExciteSpec(SqueezeExciteSpec.Layer.LINEAR, false, 4, 1), c.squeezeExcite());
        assertEquals(1e-5, c.bnEps());
        assertEquals(CheckpointLayout.SEQUENTIAL, c.layout());
        MobileNetV3Config partial = MobileNetV3Config.fromJson(table("{\"se_layer\": {\"bias\": false}, \"blocks\": [" + ROW + "]}"));
        assertEquals(new SqueezeExciteSpec(SqueezeExciteSpec.Layer.CONV, false, 4, 8), partial.squeezeExcite());
        assertEquals(SqueezeExciteSpec.TORCHVISION, MobileNetV3Config.large().squeezeExcite());
    }

    /** --bn-eps or the table's bn_eps, else the default of the weights' layout, else torchvision's. */
    @Test
    void epsComesFromTheTableThenTheWeightNames() throws IOException {
        MobileNetV3Config plain = MobileNetV3Config.fromJson(table("{\"blocks\": [" + ROW + "]}"));
        assertEquals(1e-3, plain.bnEps());
        assertNull(plain.layout());
        assertEquals(1e-5, plain.forLayout(CheckpointLayout.TIMM).bnEps());
        assertEquals(1e-5, plain.forLayout(CheckpointLayout.SEQUENTIAL).bnEps());
        assertEquals(1e-3, plain.forLayout(CheckpointLayout.TORCHVISION).bnEps());
        assertEquals(CheckpointLayout.TIMM, plain.forLayout(CheckpointLayout.TIMM).layout());

        MobileNetV3Config timm = MobileNetV3Config.fromJson(table("{\"weight_names\": \"timm\", \"blocks\": [" + ROW + "]}"));
        assertEquals(1e-5, timm.bnEps());
        MobileNetV3Config chosen = MobileNetV3Config.fromJson(table("{\"bn_eps\": 0.001, \"weight_names\": \"timm\", "
                + "\"blocks\": [" + ROW + "]}"));
        assertEquals(1e-3, chosen.bnEps());
        assertEquals(1e-3, chosen.forLayout(CheckpointLayout.SEQUENTIAL).bnEps());
        assertEquals(1e-4, MobileNetV3Config.large().withBnEps(1e-4).forLayout(CheckpointLayout.TIMM).bnEps());
        assertEquals(1e-4, MobileNetV3Config.large().forLayout(CheckpointLayout.TIMM).withBnEps(1e-4).bnEps());
    }

    @ParameterizedTest(name = "{0} over {1} channels -> {2}")
    @CsvSource({"torchvision, 72, 24", "torchvision, 16, 8", "torchvision, 960, 240", "seed, 72, 18", "seed, 120, 30",
            "seed, 4, 1", "seed, 672, 168"})
    void squeezeWidthIsExpOverTheDivisorRounded(String rule, int channels, int squeeze) {
        SqueezeExciteSpec spec = rule.equals("seed") ? new SqueezeExciteSpec(SqueezeExciteSpec.Layer.LINEAR, false, 4, 1)
                : SqueezeExciteSpec.TORCHVISION;
        assertEquals(squeeze, spec.squeezeChannels(channels));
    }

    @Test
    void aSqueezeOfNothingIsRejected() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new SqueezeExciteSpec(SqueezeExciteSpec.Layer.LINEAR, false, 8, 1).squeezeChannels(4));
        assertEquals("SE over 4 channels with divisor 8 would squeeze to 0 channels", e.getMessage());
    }

    // ---------------------------------------------------------------- options

    /**
     * torchvision's reduced tail, e.g. for Large: (112, 5, 672, 160 // 2, ..., 2), then
     * (160 // 2, 5, 960 // 2, 160 // 2, ...) x 2: every out halved, exp halved in all but the first row.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"large, 12, 672, 480, 80, 640", "small, 8, 288, 288, 48, 512"})
    void reducedTailHalvesTheLastStageAsTorchvision(String model, int lastStage, int firstExp, int laterExp, int out,
                                                    int lastChannel) throws IOException {
        MobileNetV3Config plain = MobileNetV3Config.named(model);
        MobileNetV3Config c = plain.withReducedTail(true);
        List<BottleneckSpec> t = c.effectiveTable();
        assertEquals(lastStage + 3, t.size());
        assertEquals(new BottleneckSpec(5, firstExp, out, true, HARDSWISH, 2), t.get(lastStage));
        assertEquals(new BottleneckSpec(5, laterExp, out, true, HARDSWISH, 1), t.get(lastStage + 1));
        assertEquals(new BottleneckSpec(5, laterExp, out, true, HARDSWISH, 1), t.get(lastStage + 2));
        assertEquals(plain.table().subList(0, lastStage), t.subList(0, lastStage));
        assertEquals(lastChannel, c.effectiveLastChannel());
    }

    @Test
    void reducedTailGraphHasTheHalvedHeadAndClassifier() {
        Graph g = Graph.of(MobileNetV3Config.large().withReducedTail(true));
        Bottleneck first = (Bottleneck) g.node("features.13");
        assertEquals(112, first.inChannels());
        assertEquals(672, first.expSize());
        assertEquals(80, first.outChannels());
        assertEquals(480, ((ConvBnAct) g.node("features.16")).outChannels()); // 6 x 80
        assertEquals(640, ((Linear) g.node("classifier.0")).outFeatures());
    }

    @ParameterizedTest
    @ValueSource(strings = {"large", "small"})
    void dilatedSetsDilationTwoOnTheLastStageOnly(String model) throws IOException {
        MobileNetV3Config c = MobileNetV3Config.named(model).withDilated(true);
        List<BottleneckSpec> t = c.effectiveTable();
        int lastStage = t.size() - 3;
        for (int i = 0; i < t.size(); i++) {
            BottleneckSpec s = t.get(i);
            assertEquals(i >= lastStage ? 2 : 1, s.dilation(), "row " + i);
            assertEquals(c.table().get(i).stride(), s.stride(), "declared stride is kept, row " + i);
            assertEquals(i >= lastStage ? 1 : s.stride(), s.effectiveStride(), "row " + i);
            assertEquals(c.table().get(i).withDilation(s.dilation()), s, "nothing else changes, row " + i);
        }
    }

    @Test
    void reducedTailAndDilatedCombine() {
        List<BottleneckSpec> t = MobileNetV3Config.large().withReducedTail(true).withDilated(true).effectiveTable();
        assertEquals(new BottleneckSpec(5, 672, 80, true, HARDSWISH, 2, 2), t.get(12));
        assertEquals(new BottleneckSpec(5, 480, 80, true, HARDSWISH, 1, 2), t.get(14));
    }

    @ParameterizedTest
    @ValueSource(strings = {"large", "small"})
    void minimalisticUses3x3ReluAndNoSeButKeepsWidthsAndStrides(String model) throws IOException {
        MobileNetV3Config plain = MobileNetV3Config.named(model);
        MobileNetV3Config c = plain.withMinimalistic(true);
        List<BottleneckSpec> t = c.effectiveTable();
        for (int i = 0; i < t.size(); i++) {
            BottleneckSpec s = t.get(i), p = plain.table().get(i);
            assertEquals(new BottleneckSpec(3, p.expSize(), p.outChannels(), false, RELU, p.stride(), p.dilation()), s);
        }
        assertEquals(RELU, c.outerActivation());
        assertEquals(HARDSWISH, plain.outerActivation());
    }

    @Test
    void optionsAreOffByDefaultAndLeaveTheTableAlone() {
        MobileNetV3Config c = MobileNetV3Config.large();
        assertEquals(c.table(), c.effectiveTable());
        assertEquals(1280, c.effectiveLastChannel());
        assertEquals(1024, MobileNetV3Config.small().effectiveLastChannel());
    }

    @Test
    void withMethodsReturnCopiesAndDescribeNamesEveryOption() {
        MobileNetV3Config base = MobileNetV3Config.large();
        MobileNetV3Config c = base.withWidth(0.75).withClasses(10).withReducedTail(true).withDilated(true)
                .withMinimalistic(true).withBnEps(1e-5);
        assertEquals("large(width 1.0, 1000 classes)", base.describe());
        assertEquals("large(width 0.75, 10 classes, reduced tail, dilated, minimalistic, bn eps 1.0E-5)", c.describe());
        assertEquals(base.table(), c.table());
        assertEquals("seed-large(width 1.0, 1000 classes, bn eps 1.0E-5, SE Linear without bias, exp/4)",
                ShippedModels.seedLarge().describe());
    }

    @ParameterizedTest
    @ValueSource(doubles = {0, -0.5, 8.01, Double.NaN})
    void widthOutsideZeroToEightIsRejected(double w) {
        var e = assertThrows(IllegalArgumentException.class, () -> MobileNetV3Config.large().withWidth(w));
        assertTrue(e.getMessage().contains("width multiplier must be in (0, 8]"), e.getMessage());
    }

    @Test
    void otherInvalidSettingsAreRejected() {
        var classes = assertThrows(IllegalArgumentException.class, () -> MobileNetV3Config.small().withClasses(0));
        assertTrue(classes.getMessage().contains("number of classes must be from 1 to 1048576, got 0"), classes.getMessage());
        var eps = assertThrows(IllegalArgumentException.class, () -> MobileNetV3Config.small().withBnEps(0));
        assertTrue(eps.getMessage().contains("BatchNorm eps must be > 0"), eps.getMessage());
        var empty = assertThrows(IllegalArgumentException.class, () -> MobileNetV3Config.custom("x", 16, 1280, List.of()));
        assertTrue(empty.getMessage().contains("table is empty"), empty.getMessage());
        assertEquals(8.0, MobileNetV3Config.large().withWidth(8).widthMultiplier());
    }

    @Test
    void builtInTablesAreImmutable() {
        assertThrows(UnsupportedOperationException.class, () -> MobileNetV3Config.large().table().clear());
    }
}
