package dev.mnv3.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Json;
import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.testing.ShippedModels;
import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.SafeTensors;
import dev.mnv3.core.weights.SafeTensorsWriter;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * models/seed-large.json from the command line, with the state_dict PyTorch writes for that
 * network (tools/reference/seed_large.py) passed as it is: no --bn-eps, no renaming.
 */
class SeedLargeCliTest {
    @TempDir
    static Path dir;
    static TorchReference.Case ref;
    static String model;

    @BeforeAll
    static void reference() throws Exception {
        ref = TorchReference.generate(dir, "--model", "seed-large", "--size", "96x128", "--batch", "2", "--seed", "8");
        model = ShippedModels.seedLargeFile().toString();
    }

    private static Cli run(Path input, Path output, String... extra) {
        String[] base = {"run", "--model", model, "--weights", ref.weights().toString(), "--input", input.toString(),
                "--output", output.toString()};
        String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return Cli.run(args);
    }

    @Test
    void runGivesPyTorchsLogitsAndFeatureMaps() throws Exception {
        Path out = dir.resolve("seed-out.safetensors");
        Cli r = run(ref.inputFile(), out, "--features");
        assertEquals(0, r.exitCode(), r.toString());
        Map<String, Tensor> expected = ref.expected();
        Graph graph = Graph.of(ShippedModels.seedLarge());
        try (SafeTensors st = SafeTensors.open(out)) {
            TensorDiff logits = TensorDiff.of(st.readTensor("logits"), expected.get("classifier.3"));
            assertTrue(logits.within(1e-5), "logits rel L2 " + logits.relL2());
            assertTrue(st.metadata().get("model").contains("SE Linear without bias"), st.metadata().toString());
            for (FeatureLevel l : graph.featureLevels()) {
                TensorDiff d = TensorDiff.of(st.readTensor("stride" + l.stride()), expected.get(l.node()));
                assertTrue(d.within(1e-5), "stride" + l.stride() + " rel L2 " + d.relL2());
            }
            assertArrayEquals(new int[] {2, 960, 3, 4}, st.readTensor("stride32").shape());
        }
        // the guard: another input gives other logits, far beyond the tolerance
        Path other = dir.resolve("other-input.safetensors");
        SafeTensorsWriter.write(other, Map.of("input", RandomWeights.input(2, 96, 128, 9)), Map.of());
        Path otherOut = dir.resolve("other-out.safetensors");
        assertEquals(0, run(other, otherOut).exitCode());
        try (SafeTensors st = SafeTensors.open(otherOut)) {
            assertTrue(TensorDiff.of(st.readTensor("logits"), expected.get("classifier.3")).relL2() > 1e-2);
        }
    }

    @Test
    void infoShowsTheDocumentsNetwork() {
        Cli r = Cli.run("info", "--model", model);
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().startsWith("seed-large(width 1.0, 1000 classes, bn eps 1.0E-5, SE Linear without bias, exp/4)"),
                r.out());
        assertTrue(r.out().contains("total parameters: 4,679,968"), r.out());
        assertTrue(r.out().contains("features.15    conv1x1 HS"), r.out());
    }

    @Test
    void crosscheckOnTheStateDict() {
        Cli r = Cli.run("crosscheck", "--model", model, "--weights", ref.weights().toString(), "--size", "64x96",
                "--backend", "cpu");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("classifier.3"), r.out());
    }

    @Test
    void benchRunsTheTable() {
        Cli r = Cli.run("bench", "--model", model, "--backend", "cpu", "--size", "64x64", "--seconds", "0.2", "--warmup", "0",
                "--json");
        assertEquals(0, r.exitCode(), r.toString());
        Map<String, Object> result = Json.object(Json.parse(r.out().strip()), "bench");
        assertTrue(((Number) result.get("images_per_second")).doubleValue() > 0, r.out());
    }

    @Test
    void classifyWithTheStateDict() throws Exception {
        Path png = dir.resolve("seed.png");
        BufferedImage img = new BufferedImage(120, 90, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 90; y++) for (int x = 0; x < 120; x++) img.setRGB(x, y, (x * 2 << 16) | (y * 2 << 8) | 77);
        ImageIO.write(img, "png", png.toFile());
        Cli r = Cli.run("classify", "--model", model, "--weights", ref.weights().toString(), "--top", "2", png.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(3, r.out().strip().split("\n").length, r.out());
    }

    /** The first try: Large with the seed's state_dict. The error says what the file looks like. */
    @Test
    void largeWithTheStateDictNamesTheNearMiss() {
        Cli r = Cli.run("run", "--model", "large", "--bn-eps", "1e-5", "--weights", ref.weights().toString(), "--input",
                ref.inputFile().toString(), "--output", dir.resolve("o.safetensors").toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("hint: the file looks like the sequential layout (features.N.conv.K.*) with 14 bottlenecks "
                + "and SE as Linear without bias; the model expects the sequential layout (features.N.conv.K.*) with 15 "
                + "bottlenecks and SE as 1x1 conv with bias"), r.err());
    }
}
