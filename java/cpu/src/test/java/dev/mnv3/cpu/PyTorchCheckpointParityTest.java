package dev.mnv3.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.core.weights.Checkpoint;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.fast.FastBackend;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A torchvision state_dict as torch.save wrote it (no conversion), through {@link Checkpoint},
 * against torchvision's own forward pass on the same weights (He fan-in, random BatchNorm
 * statistics): every node within FP32's 1e-5, and every node moved by another input.
 */
class PyTorchCheckpointParityTest {
    @TempDir
    static Path tmp;

    @Test
    void aTorchSavedStateDictRunsAsTorchvisionRunsIt() throws Exception {
        TorchReference.Case ref = TorchReference.generate(tmp, "--model", "small", "--size", "224x224", "--batch", "2", "--seed", "11",
                "--pth");
        Graph graph;
        Weights weights;
        try (Checkpoint c = Checkpoint.open(ref.dir().resolve("weights.pth"))) {
            assertEquals(Checkpoint.Format.PYTORCH, c.format());
            graph = Graph.of(c.configFor(MobileNetV3Config.small()));
            weights = c.weightsFor(graph);
        }
        Map<String, Tensor> expected = ref.expected();
        Tensor other = RandomWeights.input(2, 224, 224, 98);
        for (Backend backend : List.of(new ReferenceBackend(), new FastBackend())) {
            try (CompiledModel m = backend.compile(graph, weights, CompileOptions.defaults().withThreads(2))) {
                TorchvisionParityTest.compare("weights.pth on " + backend.name(), graph, expected, m.trace(ref.input()));
                Map<String, Tensor> moved = m.trace(other);
                for (String node : expected.keySet()) {
                    double d = TensorDiff.of(moved.get(node), expected.get(node)).relL2();
                    assertTrue(d > SeedLargeParityTest.MOVED, "another input moves " + node + " only by rel L2 " + d + " on " + backend.name());
                }
            }
        }
    }
}
