package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.CrossCheck;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.ReferenceBackend;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.StorageType;
import dev.mnv3.cuda.plan.WeightLayout;

/** The buffer plan of the GPU executor, checked without a GPU. */
class ForwardPlanTest {

    /**
     * Replays the plan's data flow: every step must read exactly the value (the producer's Ref
     * instance) that its buffer holds at that moment, so no step reads a value that a later
     * producer has already overwritten, e.g. the residual input of a bottleneck.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.mnv3.cuda.TestGraphs#variants")
    void everyStepReadsTheValueItsBufferHolds(String name, MobileNetV3Config config) {
        Graph graph = Graph.of(config);
        for (StorageType s : StorageType.values()) checkDataFlow(ForwardPlan.of(graph, 3, 97, 131, s, 132));
    }

    private static void checkDataFlow(ForwardPlan plan) {
        Map<ForwardPlan.Buffer, ForwardPlan.Ref> holds = new EnumMap<>(ForwardPlan.Buffer.class);
        holds.put(plan.input().buffer(), plan.input());
        for (ForwardPlan.Step step : plan.steps()) {
            for (ForwardPlan.Ref r : step.reads()) {
                assertSame(r, holds.get(r.buffer()), () -> step + " reads " + r + " but the buffer holds " + holds.get(r.buffer()));
            }
            if (step instanceof ForwardPlan.Conv c) {
                assertNotSame(c.in().buffer(), c.out().buffer(), () -> "conv in place: " + step);
                if (c.residual() != null) assertNotSame(c.residual().buffer(), c.out().buffer(), () -> "residual overwritten: " + step);
            }
            for (ForwardPlan.Ref r : step.writes()) holds.put(r.buffer(), r);
        }
        assertSame(plan.logits(), holds.get(ForwardPlan.Buffer.LOGITS));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.mnv3.cuda.TestGraphs#variants")
    void buffersFitEveryTensorAndOutputsHaveTheGraphShapes(String name, MobileNetV3Config config) {
        Graph graph = Graph.of(config);
        for (StorageType s : StorageType.values()) checkSizesAndShapes(graph, ForwardPlan.of(graph, 2, 64, 96, s, 132));
    }

    private static void checkSizesAndShapes(Graph graph, ForwardPlan plan) {
        for (ForwardPlan.Step step : plan.steps()) {
            for (ForwardPlan.Ref r : step.writes()) {
                assertTrue(r.elements() <= plan.sizes().get(r.buffer()), () -> r + " does not fit " + plan.sizes());
            }
        }
        List<Shape> shapes = graph.inferShapes(64, 96);
        List<ForwardPlan.Output> outputs = plan.steps().stream().filter(s -> s instanceof ForwardPlan.Output)
                .map(s -> (ForwardPlan.Output) s).toList();
        assertEquals(graph.nodes().size(), outputs.size());
        for (int i = 0; i < outputs.size(); i++) {
            ForwardPlan.Output o = outputs.get(i);
            Shape s = shapes.get(i + 1);
            assertEquals(graph.nodes().get(i), o.node());
            assertEquals(new Shape(o.value().c(), o.value().h(), o.value().w()), s, o.node().name());
        }
        assertArrayEquals(new int[] {2, graph.numClasses()}, outputs.getLast().traceShape());
        assertArrayEquals(new int[] {2, shapes.get(shapes.size() - 3).channels(), 1, 1},
                outputs.get(outputs.size() - 3).traceShape(), "avgpool");
    }

    @Test
    void largeAt224NeedsThreeActivationBuffersOfTheWidestTensor() {
        ForwardPlan plan = ForwardPlan.of(Graph.of(MobileNetV3Config.large()), 8, 224, 224);
        long widest = 8L * 64 * 112 * 112; // features.2's expansion, the largest activation
        for (ForwardPlan.Buffer b : List.of(ForwardPlan.Buffer.ACT0, ForwardPlan.Buffer.ACT1, ForwardPlan.Buffer.ACT2)) {
            assertTrue(plan.sizes().get(b) <= widest, b + " " + plan.sizes().get(b));
        }
        assertEquals(widest, plan.sizes().values().stream().mapToLong(Long::longValue).max().orElseThrow());
        assertEquals(8L * 1000, plan.sizes().get(ForwardPlan.Buffer.LOGITS));
    }

    @Test
    void rejectsBadShapesBeforeAnythingIsPlanned() {
        Graph g = Graph.of(MobileNetV3Config.small());
        assertThrows(IllegalArgumentException.class, () -> ForwardPlan.of(g, 0, 224, 224));
        assertThrows(IllegalArgumentException.class, () -> ForwardPlan.of(g, 1, 16, 224));
    }

    /** The plan executed on the CPU, step by step as the GPU does it, equals the CPU reference. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.mnv3.cuda.TestGraphs#variants")
    void planExecutedOnTheCpuMatchesTheReference(String name, MobileNetV3Config config) {
        Graph graph = Graph.of(config);
        Weights weights = RandomWeights.generate(graph, 11);
        Tensor input = RandomWeights.input(2, 67, 45, 5);
        Map<String, Tensor> got = new PlanInterpreter(ForwardPlan.of(graph, 2, 67, 45), WeightLayout.of(graph, weights))
                .trace(input);
        Map<String, Tensor> want;
        try (CompiledModel ref = new ReferenceBackend().compile(graph, weights)) {
            want = ref.trace(input);
        }
        assertEquals(want.keySet(), got.keySet());
        for (String node : want.keySet()) {
            TensorDiff d = TensorDiff.of(got.get(node), want.get(node));
            assertTrue(d.within(CrossCheck.FP32_TOLERANCE), node + " rel L2 " + d.relL2());
        }
    }
}
