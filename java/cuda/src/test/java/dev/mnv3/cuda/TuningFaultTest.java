package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cuda.exec.ConvAlgorithm;
import dev.mnv3.cuda.exec.CudaRuntime;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Kernel timing on {@link FakeCuda} with planted failures. A candidate that cannot run the shape
 * (a launch out of resources, cuDNN's not-supported) is skipped and the other one kept; a fault
 * (illegal or misaligned address, a failed launch, a failed cuDNN execution) stops the plan's
 * build with the layer and the candidate named, instead of counting as "too slow" and surfacing
 * later under another name.
 */
class TuningFaultTest {
    private final FakeCuda.State state = new FakeCuda.State();
    private final Graph graph = Graph.of(MobileNetV3Config.small());
    private final Weights weights = RandomWeights.generate(graph, 3);
    private final Tensor input = RandomWeights.input(1, 64, 64, 1);

    /** At FP32 every depthwise conv is timed both ways, and mnv3_depthwise3 runs every 3x3 one. */
    @ParameterizedTest(name = "{0} fails with {1}")
    @CsvSource({"mnv3_depthwise3, 700, ours", "mnv3_depthwise3, 716, ours", "mnv3_depthwise3, 719, ours",
            "cudnn algorithm 1, 5000, cuDNN algorithm"})
    void aFaultWhileTimingNamesTheLayerAndTheCandidate(String what, int code, String who) {
        state.faults.put(what, code);
        CudaRuntime rt = FakeCuda.runtime(state);
        CudaModel m = new CudaModel(rt, graph, weights, Precision.FP32, true);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.run(input));
        String msg = e.getMessage();
        assertTrue(msg.matches("cannot prepare the GPU for batch 1 at 64x64: features\\.\\d+(\\.block\\.\\d+)?: " + who
                + ".* failed while it was timed: .*\\(" + code + "\\).*"), msg);
        assertEquals(code != 5000, msg.endsWith("(the GPU context is lost: restart the process)"), msg);
        state.lost = 0; // lets the model close
        state.faults.clear();
        m.close();
    }

    @ParameterizedTest(name = "{0} cannot run: {1}")
    @CsvSource({"mnv3_depthwise3, 701", "cudnn algorithm " + ConvAlgorithm.IMPLICIT_PRECOMP_GEMM + ", 3000",
            "cudnn algorithm " + ConvAlgorithm.IMPLICIT_PRECOMP_GEMM + ", 3002"})
    void aCandidateThatCannotRunTheShapeIsSkipped(String what, int code) {
        state.faults.put(what, code);
        CudaRuntime rt = FakeCuda.runtime(state);
        try (CudaModel m = new CudaModel(rt, graph, weights, Precision.FP32, true)) {
            for (int i = 0; i < 3; i++) assertEquals(List.of(1, graph.numClasses()), List.of(m.run(input).shape()[0],
                    m.run(input).shape()[1]));
            List<String> choices = m.kernelChoices();
            if (what.startsWith("mnv3")) {
                List<String> depthwise = choices.stream().filter(c -> c.contains("depthwise") && c.contains("ours NaN ms")).toList();
                assertTrue(!depthwise.isEmpty() && depthwise.stream().allMatch(c -> c.endsWith(": cudnn")), choices.toString());
            } else {
                assertTrue(choices.stream().noneMatch(c -> c.contains("cuDNN algorithm " + ConvAlgorithm.IMPLICIT_PRECOMP_GEMM + " ")),
                        choices.toString());
            }
        }
        assertEquals(List.of(), state.violations);
        assertEquals(List.of(), state.leaks());
    }
}
