package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.CrossCheck;
import dev.mnv3.core.backend.CudaSettings;
import dev.mnv3.core.backend.CudnnMode;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.testing.ShippedModels;
import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.ReferenceBackend;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import dev.mnv3.cuda.exec.CudaRuntime;

/** The whole network on the GPU against the CPU reference, node by node, within each precision's tolerance. */
@Tag("gpu")
@ExtendWith(NoCaptureFailures.class)
class CudaModelGpuTest {
    @TempDir
    static Path tmp;

    /** The reference traces, by graph and input: several precisions and modes share one (they are the slow part). */
    private static final Map<String, Map<String, Tensor>> REFERENCE = new ConcurrentHashMap<>();

    private static CrossCheck.Report crossCheck(Graph graph, Precision precision, Tensor input) {
        return crossCheck(graph, precision, CudaSettings.defaults(), input);
    }

    private static CrossCheck.Report crossCheck(Graph graph, Precision precision, CudnnMode cudnn, Tensor input) {
        return crossCheck(graph, precision, CudaSettings.defaults().withCudnn(cudnn), input);
    }

    private static CrossCheck.Report crossCheck(Graph graph, Precision precision, CudaSettings cuda, Tensor input) {
        Weights weights = RandomWeights.generate(graph, 21);
        Map<String, Tensor> want = REFERENCE.computeIfAbsent(graph.config() + " " + input.shapeString() + " "
                + Arrays.hashCode(input.data()), k -> {
                    try (CompiledModel cpu = new ReferenceBackend().compile(graph, weights)) {
                        return cpu.trace(input);
                    }
                });
        CompileOptions options = CompileOptions.defaults().withPrecision(precision).withCuda(cuda);
        try (CompiledModel gpu = new CudaBackend().compile(graph, weights, options)) {
            CrossCheck.Report r = CrossCheck.compare(gpu, ReferenceBackend.NAME, want, input, precision.tolerance());
            System.out.println(graph + " " + precision + " " + cuda + " " + input + "\n" + r.table());
            return r;
        }
    }

    /** large, small, or seed-large: models/seed-large.json (bias-free Linear SE, a squeeze of exp/4). */
    private static MobileNetV3Config model(String name) throws Exception {
        return name.equals("seed-large") ? ShippedModels.seedLarge() : MobileNetV3Config.named(name);
    }

    @ParameterizedTest(name = "{0} at 224x224")
    @CsvSource({"large", "small", "seed-large"})
    void fp32MatchesTheCpuReferenceAt224(String model) throws Exception {
        CrossCheck.Report r = crossCheck(Graph.of(model(model)), Precision.FP32, RandomWeights.input(2, 224, 224, 3));
        assertTrue(r.passed(), r.table());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.mnv3.cuda.TestGraphs#variants")
    void fp32MatchesTheCpuReferenceOnOddSizes(String name, MobileNetV3Config config) {
        CrossCheck.Report r = crossCheck(Graph.of(config), Precision.FP32, RandomWeights.input(3, 97, 131, 4));
        assertTrue(r.passed(), r.table());
    }

    /** The driver alone, our kernels for every layer: FP32 as strict as with cuDNN, the rest within their tolerances. */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"large, FP32", "small, FP32", "seed-large, FP32", "large, TF32", "large, FP16", "large, BF16"})
    void withoutCudnnEveryPrecisionIsWithinItsTolerance(String model, Precision precision) throws Exception {
        CrossCheck.Report r = crossCheck(Graph.of(model(model)), precision, CudnnMode.OFF, RandomWeights.input(2, 224, 224, 3));
        assertTrue(r.passed(), r.table());
    }

    @Test
    void tf32IsWithinItsTolerance() {
        CrossCheck.Report r = crossCheck(Graph.of(MobileNetV3Config.large()), Precision.TF32, RandomWeights.input(2, 224, 224, 3));
        assertTrue(r.passed(), r.table());
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"large, FP16", "large, BF16", "small, FP16", "small, BF16", "seed-large, FP16", "seed-large, BF16"})
    void halfPrecisionIsWithinItsToleranceAtEveryNode(String model, Precision precision) throws Exception {
        CrossCheck.Report r = crossCheck(Graph.of(model(model)), precision, RandomWeights.input(2, 224, 224, 3));
        assertTrue(r.passed(), r.table());
    }

    @ParameterizedTest(name = "large {0}")
    @CsvSource({"FP16", "BF16", "TF32"})
    void reducedPrecisionTop1AgreesWithTheCpuOnRandomInputs(Precision precision) {
        Graph graph = Graph.of(MobileNetV3Config.large());
        Weights weights = RandomWeights.generate(graph, 22);
        int images = 256, classes = graph.numClasses(), same = 0;
        Tensor input = RandomWeights.input(images, 224, 224, 23);
        Tensor want, got;
        try (CompiledModel gpu = new CudaBackend().compile(graph, weights, CompileOptions.defaults().withPrecision(precision));
             CompiledModel cpu = new dev.mnv3.cpu.fast.FastBackend().compile(graph, weights, CompileOptions.defaults())) {
            got = gpu.run(input);
            want = cpu.run(input);
        }
        for (int i = 0; i < images; i++) {
            if (argmax(got.data(), i * classes, classes) == argmax(want.data(), i * classes, classes)) same++;
        }
        System.out.printf("large %s on the GPU: top-1 agrees on %d of %d, logits rel L2 %.2e%n", precision, same, images,
                TensorDiff.of(got, want).relL2());
        assertTrue(same >= Math.ceil(precision.top1Agreement() * images), same + " of " + images);
    }

    private static int argmax(float[] a, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (a[from + i] > a[from + best]) best = i;
        }
        return best;
    }

    /** Each implementation forced where auto would pick by speed: every one gives the network within tolerance. */
    @ParameterizedTest(name = "{0}={1} {2}")
    @CsvSource({"depthwise, cudnn, FP32", "depthwise, cudnn, FP16", "pointwise, ours, FP16", "pointwise, ours, BF16",
            "pointwise, cudnn, FP16", "stem, ours, FP16", "stem, cudnn, BF16"})
    void everyKernelChoiceIsWithinTheTolerance(String kind, String value, Precision precision) {
        CudaSettings cuda = CudaSettings.defaults().withConvKernels(kind + "=" + value);
        CrossCheck.Report r = crossCheck(Graph.of(MobileNetV3Config.large()), precision, cuda, RandomWeights.input(2, 160, 192, 7));
        assertTrue(r.passed(), r.table());
    }

    /** Several threads at once, each on its own stream: every result equals the one-thread result. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"FP32", "FP16"})
    void concurrentCallersGetTheirOwnResults(Precision precision) throws Exception {
        Graph graph = Graph.of(MobileNetV3Config.small());
        int threads = 6;
        try (CompiledModel m = new CudaBackend().compile(graph, RandomWeights.generate(graph, 1),
                CompileOptions.defaults().withPrecision(precision))) {
            Tensor[] inputs = new Tensor[threads], alone = new Tensor[threads];
            for (int t = 0; t < threads; t++) {
                inputs[t] = RandomWeights.input(1 + t % 3, 160, 160, 40 + t);
                alone[t] = m.run(inputs[t]);
            }
            java.util.concurrent.ExecutorService ex = java.util.concurrent.Executors.newFixedThreadPool(threads);
            try {
                java.util.List<java.util.concurrent.Future<Double>> worst = new java.util.ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int k = t;
                    worst.add(ex.submit(() -> {
                        double w = 0;
                        for (int i = 0; i < 20; i++) w = Math.max(w, TensorDiff.of(m.run(inputs[k]), alone[k]).relL2());
                        return w;
                    }));
                }
                for (var f : worst) assertTrue(f.get() <= 1e-6, "a concurrent result differs: rel L2 " + f.get());
            } finally {
                ex.shutdownNow();
            }
        }
    }

    /** run() replays a CUDA graph from its second call on; it must give what the traced pass gives. */
    @Test
    void runWithCudaGraphsEqualsTheTracedLogitsAcrossShapes() {
        Graph graph = Graph.of(MobileNetV3Config.small());
        try (CudaModel m = (CudaModel) new CudaBackend().compile(graph, RandomWeights.generate(graph, 1))) {
            for (int round = 0; round < 2; round++) {
                for (int[] s : new int[][] {{1, 224, 224}, {8, 224, 224}, {2, 160, 96}, {3, 64, 64}, {5, 96, 160}}) {
                    Tensor input = RandomWeights.input(s[0], s[1], s[2], round * 10 + s[0]);
                    Tensor traced = m.trace(input).get(graph.outputNode());
                    for (int i = 0; i < 3; i++) {
                        Tensor logits = m.run(input);
                        assertEquals(traced.shapeString(), logits.shapeString());
                        double rel = TensorDiff.of(logits, traced).relL2();
                        assertTrue(rel <= 1e-6, "run " + i + " of " + input + ": rel L2 " + rel);
                    }
                }
            }
            assertTrue(m.deviceMillis(RandomWeights.input(8, 224, 224, 0), 5) > 0);
        }
    }

    @Test
    void closeFreesAndIsFinal() {
        Graph graph = Graph.of(MobileNetV3Config.small());
        CudaModel m = (CudaModel) new CudaBackend().compile(graph, RandomWeights.generate(graph, 1));
        assertThrows(IllegalArgumentException.class, () -> m.run(Tensor.zeros(1, 4, 224, 224)), "shape checked first");
        m.run(RandomWeights.input(1, 64, 64, 1));
        long free = CudaRuntime.get().driver.memInfo()[0];
        m.close();
        m.close();
        assertTrue(CudaRuntime.get().driver.memInfo()[0] > free, "closing returned device memory");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.run(RandomWeights.input(1, 64, 64, 1)));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void compilesAndRunsFromAnotherThread() throws Exception {
        Graph graph = Graph.of(MobileNetV3Config.small());
        try (CompiledModel m = new CudaBackend().compile(graph, RandomWeights.generate(graph, 1))) {
            Tensor input = RandomWeights.input(2, 96, 96, 2);
            Tensor here = m.run(input);
            Tensor[] there = new Tensor[1];
            Thread t = Thread.ofPlatform().start(() -> there[0] = m.run(input));
            t.join();
            assertTrue(TensorDiff.of(there[0], here).relL2() <= 1e-6);
        }
    }

    /**
     * PyTorch (on the CPU) against our GPU, every node, same weights and input: torchvision's
     * Large, and seed-large from its own state_dict (tools/reference/seed_large.py).
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"large", "seed-large"})
    void matchesPyTorch(String model) throws Exception {
        TorchReference.Case ref = TorchReference.generate(tmp, "--model", model, "--size", "224x224", "--batch", "2",
                "--seed", "5");
        Graph graph = Graph.of(model(model));
        Map<String, Tensor> expected = ref.expected();
        try (CompiledModel m = new CudaBackend().compile(graph, Weights.load(ref.weights(), graph))) {
            Map<String, Tensor> got = m.trace(ref.input());
            for (String node : expected.keySet()) {
                TensorDiff d = TensorDiff.of(got.get(node), expected.get(node));
                assertTrue(d.within(CrossCheck.FP32_TOLERANCE), node + " rel L2 " + d.relL2());
            }
        }
    }
}
