package dev.mnv3.core.weights;

import static dev.mnv3.core.weights.WeightsTest.assertSameWeights;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.CheckpointLayout;
import dev.mnv3.core.Json;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.ParamSpec;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.core.weights.SafeTensorsWriter.Blob;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * PyTorch checkpoints as torch.save (Debian's PyTorch 1.13) writes them, read through the
 * library's {@link Checkpoint}: the three layouts, F32/F16/BF16, views and non-contiguous
 * tensors, parameters, a training checkpoint with DataParallel names, and the files to refuse.
 * One Python process writes every file; each must read back exactly the values it was given.
 */
class PyTorchCheckpointTest {
    static final MobileNetV3Config MODEL = MobileNetV3Config.small().withWidth(0.5).withClasses(10);
    static final Graph GRAPH = Graph.of(MODEL);
    static final Weights WEIGHTS = RandomWeights.generate(GRAPH, 3);

    @TempDir
    static Path dir;

    @BeforeAll
    static void writeCheckpoints() throws Exception {
        write(GRAPH, WEIGHTS, CheckpointLayout.TORCHVISION, dir.resolve("tv.safetensors"));
        write(GRAPH, WEIGHTS, CheckpointLayout.TIMM, dir.resolve("timm.safetensors"));
        write(GRAPH, WEIGHTS, CheckpointLayout.SEQUENTIAL, dir.resolve("seq.safetensors"));
        List<String> jobs = new ArrayList<>();
        jobs.add(job("tv", "tv.pth", ""));
        jobs.add(job("tv", "tv_f16.pth", "\"dtype\": \"f16\""));
        jobs.add(job("tv", "tv_bf16_views.pth", "\"dtype\": \"bf16\", \"views\": true"));
        jobs.add(job("tv", "tv_views_parameters.pth", "\"views\": true, \"parameters\": true"));
        jobs.add(job("timm", "timm.pth", ""));
        jobs.add(job("seq", "seq.pth", ""));
        jobs.add(job("tv", "train.pth", "\"key\": \"model_state_dict\", \"prefix\": \"module.\""));
        jobs.add(job("timm", "train_ema.pth", "\"key\": \"ema_weights\""));
        jobs.add("{\"kind\": \"os_system\", \"out\": " + Json.quote(dir.resolve("os_system.pth").toString()) + ", \"marker\": "
                + Json.quote(dir.resolve("marker").toString()) + "}");
        jobs.add("{\"kind\": \"legacy\", \"out\": " + Json.quote(dir.resolve("legacy.pth").toString()) + "}");
        jobs.add("{\"kind\": \"torchscript\", \"out\": " + Json.quote(dir.resolve("script.pt").toString()) + "}");
        Path spec = dir.resolve("jobs.json");
        Files.writeString(spec, "[" + String.join(",\n", jobs) + "]");
        TorchReference.runTool("torch_save.py", spec.toString());
    }

    private static String job(String in, String out, String options) {
        return "{\"in\": " + Json.quote(dir.resolve(in + ".safetensors").toString()) + ", \"out\": "
                + Json.quote(dir.resolve(out).toString()) + (options.isEmpty() ? "" : ", " + options) + "}";
    }

    /** {@code w} under the names of {@code layout}, with a num_batches_tracked of 7 per BatchNorm (I64, as PyTorch saves it). */
    static Path write(Graph g, Weights w, CheckpointLayout layout, Path file) throws IOException {
        Map<String, String> names = WeightNames.sourceNames(layout, g);
        List<Blob> blobs = new ArrayList<>();
        for (ParamSpec p : g.parameters()) {
            String name = names.get(p.name());
            blobs.add(Blob.of(name, w.get(p.name()), DType.F32));
            if (name.endsWith(".running_var")) {
                blobs.add(Blob.ofLongs(name.replace("running_var", "num_batches_tracked"), new long[0], new long[] {7}));
            }
        }
        SafeTensorsWriter.write(file, blobs, null);
        return file;
    }

    /** WEIGHTS as they read after a round trip through {@code dtype}. */
    private static Weights rounded(DType dtype) {
        if (dtype == DType.F32) return WEIGHTS;
        Map<String, Tensor> out = new LinkedHashMap<>();
        WEIGHTS.asMap().forEach((n, t) -> out.put(n, t.to(dtype).toFloat()));
        return new Weights(out);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"tv.pth, TORCHVISION, F32, 0.001", "tv_f16.pth, TORCHVISION, F16, 0.001", "tv_bf16_views.pth, TORCHVISION, BF16, 0.001",
            "tv_views_parameters.pth, TORCHVISION, F32, 0.001", "timm.pth, TIMM, F32, 1e-5", "seq.pth, SEQUENTIAL, F32, 1e-5"})
    void readsTheValuesTorchSaveWrote(String file, CheckpointLayout layout, DType dtype, double eps) throws IOException {
        try (Checkpoint c = Checkpoint.open(dir.resolve(file))) {
            assertEquals(Checkpoint.Format.PYTORCH, c.format());
            assertEquals(layout, c.layout());
            assertNull(c.key());
            MobileNetV3Config config = c.configFor(MODEL);
            assertEquals(eps, config.bnEps(), "the layout's eps, applied by the library");
            assertEquals(layout, config.layout());
            assertSameWeights(rounded(dtype), c.weightsFor(Graph.of(config)));
            String bn = layout == CheckpointLayout.TIMM ? "bn1" : "features.0.1";
            assertArrayEquals(new long[] {7}, c.tensors().get(bn + ".num_batches_tracked").readLongs());
        }
    }

    @Test
    void aTimmFileThroughTheLibraryGetsTimmsEps() throws IOException {
        Path timm = dir.resolve("timm.pth");
        try (Checkpoint c = Checkpoint.open(timm)) {
            assertEquals(1e-5, c.configFor(MobileNetV3Config.small()).bnEps());
            assertEquals(1e-4, c.configFor(MobileNetV3Config.small().withBnEps(1e-4)).bnEps(), "a chosen eps stays");
        }
        // a graph with torchvision's eps that nobody chose would compute other numbers: refused, not run
        var e = assertThrows(IllegalArgumentException.class, () -> Weights.load(timm, GRAPH));
        assertTrue(e.getMessage().contains("timm's layout (conv_stem, blocks.S.B.*), trained with BatchNorm eps 1.0E-5"), e.getMessage());
        assertSameWeights(WEIGHTS, Weights.load(timm, Graph.of(MODEL.withBnEps(1e-3))));
    }

    @Test
    void findsATrainingCheckpointsStateDictAndRemovesDataParallelPrefixes() throws IOException {
        try (Checkpoint c = Checkpoint.open(dir.resolve("train.pth"))) {
            assertEquals("model_state_dict", c.key());
            assertTrue(c.strippedModulePrefix());
            assertTrue(c.describe().contains("the tensors under 'model_state_dict', module. prefixes removed"), c.describe());
            assertSameWeights(WEIGHTS, c.weightsFor(Graph.of(c.configFor(MODEL))));
        }
    }

    @Test
    void anUnusualKeyIsNamedByTheUser() throws IOException {
        Path file = dir.resolve("train_ema.pth");
        var e = assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(file));
        assertTrue(e.getMessage().contains("holds no state_dict: none of its keys [epoch, optimizer, metrics, ema_weights]"), e.getMessage());
        assertTrue(e.getMessage().endsWith("name the one that does as the checkpoint key"), e.getMessage());
        try (Checkpoint c = Checkpoint.open(file, "ema_weights")) {
            assertEquals(CheckpointLayout.TIMM, c.layout());
            assertSameWeights(WEIGHTS, c.weightsFor(Graph.of(c.configFor(MODEL))));
        }
        var missing = assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(file, "ema"));
        assertTrue(missing.getMessage().contains("has no entry 'ema'"), missing.getMessage());
        var notTensors = assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(file, "metrics"));
        assertTrue(notTensors.getMessage().contains("its entry 'metrics' is not a dict of tensors"), notTensors.getMessage());
    }

    @Test
    void aPickleThatWouldRunACommandIsRefusedAndRunsNothing() {
        var e = assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(dir.resolve("os_system.pth")));
        assertTrue(e.getMessage().matches(".*refused: data.pkl calls (posix|os)\\.system .*"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertFalse(Files.exists(dir.resolve("marker")));
    }

    @Test
    void legacyFilesAndTorchScriptSayHowToResaveThem() {
        var legacy = assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(dir.resolve("legacy.pth")));
        assertTrue(legacy.getMessage().contains("a PyTorch checkpoint in the legacy format (PyTorch before 1.6)"), legacy.getMessage());
        assertTrue(legacy.getMessage().contains("torch.save(model.state_dict(), path)"), legacy.getMessage());
        var script = assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(dir.resolve("script.pt")));
        assertTrue(script.getMessage().contains("a TorchScript archive (torch.jit.save)"), script.getMessage());
    }

    @Test
    void safetensorsOpenThroughTheSameType() throws IOException {
        try (Checkpoint c = Checkpoint.open(dir.resolve("seq.safetensors"))) {
            assertEquals(Checkpoint.Format.SAFETENSORS, c.format());
            assertEquals(CheckpointLayout.SEQUENTIAL, c.layout());
            assertSameWeights(WEIGHTS, c.weightsFor(Graph.of(c.configFor(MODEL))));
        }
    }
}
