package dev.mnv3.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.fast.FastBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CPU backends (reference, fast with the Vector API, fast with plain loops) against
 * torchvision itself: same random weights (non-identity BatchNorm), same random input, every
 * node compared. docs/numerics.md: rel L2 <= 1e-5 in FP32.
 */
class TorchvisionParityTest {
    static final double FP32_TOLERANCE = 1e-5;

    @TempDir
    static Path tmp;

    @ParameterizedTest(name = "{0} width {1} {2} {3}")
    @CsvSource({
            "large, 1.0,  224x224, ''",
            "large, 0.75, 224x224, ''",
            "large, 1.0,  193x241, ''",
            "large, 0.75, 193x241, ''",
            "small, 1.0,  224x224, ''",
            "small, 0.75, 224x224, ''",
            "small, 1.0,  193x241, ''",
            "small, 0.75, 193x241, ''",
            "large, 1.0,  96x128,  --dilated",
            "small, 1.0,  96x128,  --reduced-tail",
    })
    void referenceMatchesTorchvision(String model, double width, String size, String option) throws Exception {
        List<String> args = new ArrayList<>(List.of("--model", model, "--width", Double.toString(width),
                "--size", size, "--batch", "2", "--seed", "7"));
        if (!option.isEmpty()) args.add(option);
        TorchReference.Case ref = TorchReference.generate(tmp, args.toArray(String[]::new));

        MobileNetV3Config config = MobileNetV3Config.named(model).withWidth(width)
                .withDilated(option.equals("--dilated")).withReducedTail(option.equals("--reduced-tail"));
        Graph graph = Graph.of(config);
        Map<String, Tensor> expected = ref.expected();
        Weights weights = Weights.load(ref.weights(), graph);
        for (Backend backend : List.of(new ReferenceBackend(), new FastBackend(), new FastBackend(true))) {
            Map<String, Tensor> actual;
            try (CompiledModel m = backend.compile(graph, weights, CompileOptions.defaults().withThreads(2))) {
                actual = m.trace(ref.input());
            }
            compare(model + " " + width + " " + size + " " + option + " on " + backend.name()
                    + (backend instanceof FastBackend f && f.scalar() ? " (scalar)" : ""), graph, expected, actual);
        }
    }

    static void compare(String what, Graph graph, Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertEquals(expected.keySet(), actual.keySet(), "trace names");

        // every node, which includes the stage features and the logits the issue asks for
        StringBuilder report = new StringBuilder();
        boolean ok = true;
        for (String node : expected.keySet()) {
            TensorDiff d = TensorDiff.of(actual.get(node), expected.get(node));
            boolean pass = d.within(FP32_TOLERANCE);
            report.append(String.format("%n  %-14s rel L2 %.2e  max abs %.2e (scaled %.2e)%s", node, d.relL2(), d.maxAbs(),
                    d.maxAbsScaled(), pass ? "" : "  FAIL"));
            ok &= pass;
        }
        for (FeatureLevel level : graph.featureLevels()) assertTrue(expected.containsKey(level.node()), level.node());
        assertTrue(ok, what + ": nodes exceed rel L2 " + FP32_TOLERANCE + ":" + report);
        System.out.println(what + report);
    }
}
