package dev.mnv3.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Json;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.SafeTensors;
import dev.mnv3.core.weights.SafeTensorsWriter;
import dev.mnv3.core.weights.StoredTensor;
import dev.mnv3.core.weights.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands on PyTorch checkpoints as torch.save (Debian's PyTorch 1.13) wrote them: run gives
 * torchvision's logits from a state_dict as it is, convert writes what PyTorch holds, a training
 * checkpoint's tensors are found and said where.
 */
class CheckpointCommandsTest {
    @TempDir
    static Path dir;
    static TorchReference.Case ref;
    static Path pth;

    @BeforeAll
    static void checkpoints() throws Exception {
        ref = TorchReference.generate(dir, "--model", "small", "--size", "96x128", "--batch", "2", "--seed", "21", "--pth");
        pth = ref.dir().resolve("weights.pth");
        String jobs = "[{\"in\": " + Json.quote(ref.weights().toString()) + ", \"out\": " + Json.quote(dir.resolve("train.pth").toString())
                + ", \"key\": \"ema_weights\", \"prefix\": \"module.\", \"views\": true}]";
        TorchReference.runTool("torch_save.py", Files.writeString(dir.resolve("jobs.json"), jobs).toString());
    }

    private static Tensor logits(Path file) throws Exception {
        try (SafeTensors st = SafeTensors.open(file)) {
            return st.readTensor("logits");
        }
    }

    @Test
    void runOnATorchSavedStateDictGivesTorchvisionsLogits() throws Exception {
        Path out = dir.resolve("logits.safetensors");
        Cli r = Cli.run("run", "--model", "small", "--backend", "cpu", "--threads", "2", "--weights", pth.toString(), "--input",
                ref.inputFile().toString(), "--output", out.toString());
        assertEquals(0, r.exitCode(), r.toString());
        Tensor want = ref.expected().get("classifier.3");
        double d = TensorDiff.of(logits(out), want).relL2();
        assertTrue(d <= 1e-5, "rel L2 " + d);

        Path other = dir.resolve("other.safetensors"), otherOut = dir.resolve("other-logits.safetensors");
        SafeTensorsWriter.write(other, Map.of("input", RandomWeights.input(2, 96, 128, 5)), Map.of());
        assertEquals(0, Cli.run("run", "--model", "small", "--backend", "cpu", "--weights", pth.toString(), "--input", other.toString(),
                "--output", otherOut.toString()).exitCode());
        double moved = TensorDiff.of(logits(otherOut), want).relL2();
        assertTrue(moved > 1e-2, "another input moves the logits only by " + moved);
    }

    @Test
    void convertWritesEveryTensorAsPyTorchHoldsIt() throws Exception {
        Path out = dir.resolve("converted.safetensors");
        Cli r = Cli.run("convert", pth.toString(), out.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().startsWith("wrote " + out + ": "), r.toString());
        try (SafeTensors mine = SafeTensors.open(out); SafeTensors python = SafeTensors.open(ref.weights())) {
            assertEquals(List.copyOf(python.entries().keySet()), List.copyOf(mine.entries().keySet()));
            for (SafeTensors.Entry e : python.entries().values()) {
                SafeTensors.Entry m = mine.entry(e.name());
                assertEquals(e.dtype(), m.dtype(), e.name());
                assertArrayEquals(e.shape(), m.shape(), e.name());
                if (e.dtype().isFloat()) assertArrayEquals(python.readFloats(e.name()), mine.readFloats(e.name()), e.name());
                else assertArrayEquals(python.readLongs(e.name()), mine.readLongs(e.name()), e.name());
            }
            assertEquals("pt", mine.metadata().get("format"));
        }

        long before = Files.size(out);
        Files.writeString(out, "precious");
        BadInputTest.assertOneLineError(Cli.run("convert", pth.toString(), out.toString()),
                out + " exists: convert does not overwrite it (pass --force to replace it");
        assertEquals("precious", Files.readString(out));
        assertEquals(0, Cli.run("convert", "--force", pth.toString(), out.toString()).exitCode());
        assertEquals(before, Files.size(out));
        BadInputTest.assertOneLineError(Cli.run("convert", "--force", pth.toString(), pth.toString()), "");
        assertTrue(Cli.run("convert", "--help").out().contains("torch.save"));
    }

    @Test
    void aTrainingCheckpointsTensorsAreFoundAndSaidWhere() throws Exception {
        Path train = dir.resolve("train.pth"), out = dir.resolve("train-logits.safetensors");
        BadInputTest.assertOneLineError(Cli.run("run", "--model", "small", "--backend", "cpu", "--weights", train.toString(), "--input",
                ref.inputFile().toString(), "--output", out.toString()), "holds no state_dict: none of its keys [epoch, optimizer, metrics, "
                + "ema_weights] is one of [state_dict, model, model_state_dict, state_dict_ema, model_ema] holding tensors; name the one "
                + "that does with --checkpoint-key");
        Cli r = Cli.run("run", "--model", "small", "--backend", "cpu", "--weights", train.toString(), "--checkpoint-key", "ema_weights",
                "--input", ref.inputFile().toString(), "--output", out.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.err().contains(train + ": a PyTorch checkpoint (torch.save), the tensors under 'ema_weights', module. prefixes "
                + "removed, in torchvision's layout"), r.toString());
        assertTrue(TensorDiff.of(logits(out), ref.expected().get("classifier.3")).relL2() <= 1e-5);
        try (Checkpoint c = Checkpoint.open(train, "ema_weights")) {
            StoredTensor t = c.tensors().get("features.0.0.weight");
            assertEquals("[16,3,3,3]", t.shapeString());
        }
    }
}
