package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.testing.ShippedModels;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.ReferenceBackend;
import dev.mnv3.cpu.fast.FastBackend;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import java.util.stream.Stream;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.KernelChoice;
import dev.mnv3.cuda.plan.Lowering;
import dev.mnv3.cuda.plan.StorageType;
import dev.mnv3.cuda.plan.WeightLayout;

/**
 * The reduced-precision plans executed on the CPU with the device's rounding, against the FP32
 * CPU reference: FP16/BF16 (NHWC, 16-bit storage, float accumulation) and TF32 (float plan, conv
 * operands with 10 mantissa bits, rounded to nearest or truncated). The tolerances of
 * {@link Precision} (per node rel L2, and top-1 agreement on random inputs; its javadoc says why
 * they are what they are) must hold for the numerics the GPU will run, before any GPU runs them.
 * Prints the worst node, so the margin is visible in the test log.
 */
class ReducedPrecisionPlanTest {
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("large", MobileNetV3Config.large(), StorageType.F16, 0),
                Arguments.of("large", MobileNetV3Config.large(), StorageType.BF16, 0),
                Arguments.of("small", MobileNetV3Config.small(), StorageType.F16, 0),
                Arguments.of("small", MobileNetV3Config.small(), StorageType.BF16, 0),
                Arguments.of("large dilated", MobileNetV3Config.large().withDilated(true), StorageType.F16, 0),
                Arguments.of("small minimalistic, 10 classes", MobileNetV3Config.small().withMinimalistic(true).withClasses(10),
                        StorageType.BF16, 0),
                Arguments.of("large width 0.35 (channels not multiples of 8)", MobileNetV3Config.large().withWidth(0.35),
                        StorageType.F16, 0),
                Arguments.of("large", MobileNetV3Config.large(), StorageType.F16, 224),
                Arguments.of("large", MobileNetV3Config.large(), StorageType.BF16, 224),
                Arguments.of("seed-large", ShippedModels.seedLarge(), StorageType.F16, 224),
                Arguments.of("seed-large", ShippedModels.seedLarge(), StorageType.BF16, 224));
    }

    @ParameterizedTest(name = "{0} {2} {3}")
    @MethodSource("cases")
    void everyNodeIsWithinTheReducedPrecisionTolerance(String name, MobileNetV3Config config, StorageType storage, int size) {
        Graph graph = Graph.of(config);
        Weights weights = RandomWeights.generate(graph, 21);
        Tensor input = size > 0 ? RandomWeights.input(1, size, size, 6) : RandomWeights.input(2, 67, 45, 6);
        Map<String, Tensor> want = reference(graph, weights, input);
        for (boolean ours : new boolean[] {false, true}) {
            check(name, want, interpret(graph, weights, storage, input, ours, Tf32.OFF), precision(storage), storage + ", "
                    + (ours ? "our fused kernels" : "cuDNN + epilogues") + " " + input.shapeString());
        }
    }

    static Stream<Arguments> tf32Cases() {
        return Stream.of(
                Arguments.of("large", MobileNetV3Config.large(), 224),
                Arguments.of("small", MobileNetV3Config.small(), 224),
                Arguments.of("large", MobileNetV3Config.large(), 0),
                Arguments.of("large dilated", MobileNetV3Config.large().withDilated(true), 0));
    }

    /**
     * TF32: a float plan whose convolutions see 10-bit-mantissa operands, rounded to nearest or
     * truncated (the device's rounding is cuDNN's choice), with float accumulation.
     */
    @ParameterizedTest(name = "{0} TF32 {2}")
    @MethodSource("tf32Cases")
    void tf32EveryNodeIsWithinTheTf32Tolerance(String name, MobileNetV3Config config, int size) {
        Graph graph = Graph.of(config);
        Weights weights = RandomWeights.generate(graph, 21);
        Tensor input = size > 0 ? RandomWeights.input(1, size, size, 6) : RandomWeights.input(2, 67, 45, 6);
        Map<String, Tensor> want = reference(graph, weights, input);
        for (Tf32 mode : new Tf32[] {Tf32.NEAREST, Tf32.TRUNCATE}) {
            check(name, want, interpret(graph, weights, StorageType.F32, input, false, mode), Precision.TF32,
                    "TF32 " + mode.name().toLowerCase(java.util.Locale.ROOT) + " " + input.shapeString());
        }
    }

    private static Map<String, Tensor> reference(Graph graph, Weights weights, Tensor input) {
        try (CompiledModel ref = new ReferenceBackend().compile(graph, weights)) {
            return ref.trace(input);
        }
    }

    /** Every node of {@code got} against the reference, within {@code precision}'s tolerance; prints the worst. */
    private static void check(String name, Map<String, Tensor> want, Map<String, Tensor> got, Precision precision, String how) {
        assertEquals(want.keySet(), got.keySet());
        double tolerance = precision.tolerance(), worst = 0;
        String worstNode = "";
        for (String node : want.keySet()) {
            TensorDiff d = TensorDiff.of(got.get(node), want.get(node));
            if (d.relL2() > worst) {
                worst = d.relL2();
                worstNode = node;
            }
            assertTrue(d.within(tolerance), name + " " + how + ": " + node + " rel L2 " + d.relL2() + " > " + tolerance);
        }
        String logits = want.keySet().stream().reduce((a, b) -> b).orElseThrow();
        System.out.printf("%s %s: worst node rel L2 %.2e (%s), logits %.2e%n", name, how, worst, worstNode,
                TensorDiff.of(got.get(logits), want.get(logits)).relL2());
    }

    /** FP16 and BF16 as stored, TF32 both ways it may round: the less exact numerics the device may pick. */
    @ParameterizedTest(name = "large {0} {1}")
    @CsvSource({"F16, OFF", "BF16, OFF", "F32, NEAREST", "F32, TRUNCATE"})
    void top1AgreesWithFp32OnRandomInputs(StorageType storage, Tf32 tf32) {
        Graph graph = Graph.of(MobileNetV3Config.large());
        Weights weights = RandomWeights.generate(graph, 22);
        int images = 128;
        Tensor input = RandomWeights.input(images, 64, 64, 23);
        Map<String, Tensor> got = interpret(graph, weights, storage, input, false, tf32);
        Tensor want;
        try (CompiledModel cpu = new FastBackend().compile(graph, weights, CompileOptions.defaults())) {
            want = cpu.run(input);
        }
        Tensor logits = got.get(graph.nodes().getLast().name());
        int classes = graph.numClasses(), same = 0;
        for (int i = 0; i < images; i++) {
            if (argmax(logits.data(), i * classes, classes) == argmax(want.data(), i * classes, classes)) same++;
        }
        Precision precision = tf32 != Tf32.OFF ? Precision.TF32 : precision(storage);
        System.out.printf("large %s%s: top-1 agrees on %d of %d random inputs, logits rel L2 %.2e%n", precision,
                tf32 != Tf32.OFF ? " " + tf32 : "", same, images, TensorDiff.of(logits, want).relL2());
        assertTrue(same >= Math.ceil(precision.top1Agreement() * images), same + " of " + images + " agree");
    }

    private static Map<String, Tensor> interpret(Graph graph, Weights weights, StorageType storage, Tensor input, boolean ours,
                                                 Tf32 tf32) {
        int[] s = input.shape();
        ForwardPlan plan = Lowering.lower(graph, s[0], s[2], s[3], storage, 132, ForwardPlan.InputSpec.F32,
                ours ? KernelChoice.Selection.OURS : KernelChoice.Selection.CUDNN);
        return new PlanInterpreter(plan, WeightLayout.of(graph, weights, storage), tf32).trace(input);
    }

    private static Precision precision(StorageType s) {
        return s == StorageType.F16 ? Precision.FP16 : Precision.BF16;
    }

    private static int argmax(float[] a, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (a[from + i] > a[from + best]) best = i;
        }
        return best;
    }
}
