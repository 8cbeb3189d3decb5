package dev.mnv3.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CpuSettings;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.CrossCheck;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.testing.ShippedModels;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.fast.FastBackend;
import java.lang.management.ManagementFactory;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fast path against the plain reference, node by node, on random weights and odd sizes. The
 * build runs this class once per vector width (-Dmnv3.cpu.vectorBits=128, 256, 512, see the
 * module's pom) besides the default run at the preferred width; the scalar rows run the plain loops.
 */
class FastBackendTest {

    @ParameterizedTest(name = "{0} {1} batch {2} at {3}x{4}, {5} threads, scalar {6}")
    @CsvSource({
            "large, '',             3, 97,  131, 2, false",
            "large, '',             1, 64,  64,  2, false",
            "small, '',             5, 64,  80,  3, false",
            "small, '',             2, 75,  33,  1, true",
            "large, '',             1, 70,  90,  2, true",
            "large, dilated,        2, 64,  96,  2, false",
            "small, reduced-tail,   4, 40,  72,  2, false",
            "large, minimalistic,   2, 48,  48,  1, false",
            "seed-large, '',        2, 97,  131, 2, false",
            "seed-large, '',        3, 75,  33,  1, true",
    })
    void fastMatchesReferenceOnEveryNode(String model, String option, int batch, int h, int w, int threads, boolean scalar)
            throws Exception {
        MobileNetV3Config c = (model.equals("seed-large") ? ShippedModels.seedLarge() : MobileNetV3Config.named(model))
                .withDilated(option.equals("dilated"))
                .withReducedTail(option.equals("reduced-tail")).withMinimalistic(option.equals("minimalistic"));
        Graph g = Graph.of(c);
        Weights weights = RandomWeights.generate(g, 11);
        Tensor input = RandomWeights.input(batch, h, w, 12);
        try (CompiledModel fast = new FastBackend(scalar).compile(g, weights, CompileOptions.defaults().withThreads(threads));
             CompiledModel ref = new ReferenceBackend().compile(g, weights)) {
            CrossCheck.Report r = CrossCheck.compare(fast, ref, input, CrossCheck.FP32_TOLERANCE);
            assertTrue(r.passed(), r.table());
            // the check can fail: another input moves every node by far more than the tolerance
            Map<String, Tensor> same = fast.trace(input), moved = fast.trace(RandomWeights.input(batch, h, w, 13));
            for (String node : same.keySet()) {
                double shift = TensorDiff.of(moved.get(node), same.get(node)).relL2();
                assertTrue(shift > 100 * CrossCheck.FP32_TOLERANCE, node + " moved only " + shift);
            }
            // run() gives the traced logits
            assertArrayEquals(fast.trace(input).get(g.outputNode()).data(), fast.run(input).data());
        }
    }

    /**
     * Every image of a batch gets its own result, whatever the batch size and however many
     * images run their late layers stacked (-Dmnv3.cpu.stack; 1 runs one image per thread
     * throughout; 2 with 5 images runs groups of 1, 2 and 2 images, the fifth image's early layers
     * with its rows split across the threads). Within the FP32 tolerance, not
     * bit for bit: a row's tile and the SE path (folded into the weights for one image, applied to
     * the map for a stack) depend on the batch.
     */
    @ParameterizedTest(name = "stack {0}")
    @ValueSource(ints = {1, 2, 3, 8})
    void everyBatchSizeFromOneToFiveGivesEachImageItsOwnResult(int stack) {
        Graph g = Graph.of(MobileNetV3Config.small());
        Weights weights = RandomWeights.generate(g, 5);
        Tensor five = RandomWeights.input(5, 48, 56, 6);
        CompileOptions options = CompileOptions.defaults().withThreads(2).withCpu(CpuSettings.defaults().withStack(stack));
        try (CompiledModel fast = new FastBackend().compile(g, weights, options);
             CompiledModel ref = new ReferenceBackend().compile(g, weights)) {
            float[] want = ref.run(five).data();
            for (int n = 1; n <= 5; n++) {
                Tensor some = fast.run(five.slice(0, n));
                for (int i = 0; i < n; i++) {
                    float[] a = java.util.Arrays.copyOfRange(want, i * 1000, (i + 1) * 1000);
                    float[] b = java.util.Arrays.copyOfRange(some.data(), i * 1000, (i + 1) * 1000);
                    double err = TensorDiff.of(b, a).relL2();
                    assertTrue(err <= CrossCheck.FP32_TOLERANCE, "image " + i + " of a batch of " + n + ": rel L2 " + err);
                    if (i > 0) { // images do not mix: each differs from its neighbour by far more than the tolerance
                        float[] prev = java.util.Arrays.copyOfRange(want, (i - 1) * 1000, i * 1000);
                        assertTrue(TensorDiff.of(b, prev).relL2() > 100 * CrossCheck.FP32_TOLERANCE);
                    }
                }
            }
        }
    }

    @Test
    void noBufferIsAllocatedPerInferenceAfterWarmUp() {
        // also shows that C2 compiled every vector operation: one left to the Java fallback allocates on every call
        assumeTrue(new FastBackend().compiledToVectorInstructions(), "this width runs as Java loops on this CPU");
        Graph g = Graph.of(MobileNetV3Config.large());
        try (CompiledModel fast = new FastBackend().compile(g, RandomWeights.generate(g, 1), CompileOptions.defaults().withThreads(1))) {
            Tensor x = RandomWeights.input(1, 128, 128, 2);
            // until C2 has compiled the kernels (interpreted or in C1, vectors are objects): at least 200 runs, then
            // until 50 runs in a row start no compilation, since on a loaded machine C2's queue lags behind a fixed count
            var jit = ManagementFactory.getCompilationMXBean();
            long quietSince = 0, compiled = -1;
            for (int i = 0; i < 20_000 && (i < 200 || i - quietSince < 50); i++) {
                fast.run(x);
                long now = jit.getTotalCompilationTime();
                if (now != compiled) {
                    compiled = now;
                    quietSince = i;
                }
            }
            var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            // the least of several inferences: a buffer allocated per inference shows in every one, while C2 still
            // compiling or recompiling a kernel (a long compilation looks quiet above: the total moves only when
            // it ends) shows in some; so measure again, for up to a minute, until an inference allocates nothing
            long allocated = Long.MAX_VALUE, deadline = System.nanoTime() + 60_000_000_000L;
            for (int i = 0; allocated >= 64 * 1024 && (i < 20 || System.nanoTime() < deadline); i++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                fast.run(x);
                allocated = Math.min(allocated, threads.getCurrentThreadAllocatedBytes() - before);
            }
            // the activations alone are megabytes; what remains is the logits tensor and a few small objects
            assertTrue(allocated < 64 * 1024, "allocated " + allocated + " bytes in one inference");
        }
    }

    @Test
    void itsModelsSayWhereTheTimeGoesAndTheReferencesDoNot() {
        Graph g = Graph.of(MobileNetV3Config.small());
        Weights weights = RandomWeights.generate(g, 1);
        Tensor x = RandomWeights.input(1, 64, 64, 1);
        try (CompiledModel fast = new FastBackend().compile(g, weights); CompiledModel ref = new ReferenceBackend().compile(g, weights)) {
            assertTrue(fast.timesLayers());
            Map<String, Double> ms = fast.layerMillis(x, 2);
            assertEquals(g.nodes().size(), ms.size(), ms.toString());
            assertTrue(ms.values().stream().allMatch(t -> t >= 0 && t < 60_000), ms.toString());
            assertTrue(!ref.timesLayers());
            var e = assertThrows(UnsupportedOperationException.class, () -> ref.layerMillis(x, 1));
            assertTrue(e.getMessage().contains("does not time its layers"), e.getMessage());
        }
    }

    @Test
    void rejectsWhatItCannotDo() {
        Graph g = Graph.of(MobileNetV3Config.small());
        Weights weights = RandomWeights.generate(g, 1);
        var e = assertThrows(IllegalArgumentException.class,
                () -> new FastBackend().compile(g, weights, CompileOptions.defaults().withPrecision(Precision.FP16)));
        assertTrue(e.getMessage().contains("FP32 only"), e.getMessage());
        CompiledModel m = new FastBackend().compile(g, weights);
        m.close();
        var closed = assertThrows(IllegalStateException.class, () -> m.run(RandomWeights.input(1, 64, 64, 1)));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
        m.close(); // closing twice is harmless
        try (CompiledModel open = new FastBackend().compile(g, weights)) {
            var bad = assertThrows(IllegalArgumentException.class, () -> open.run(Tensor.zeros(1, 3, 16, 64)));
            assertTrue(bad.getMessage().contains("too small"), bad.getMessage());
        }
    }

    @Test
    void threadCountsBeyondTheCapAreRefusedBeforeAnyThreadStarts() {
        var e = assertThrows(IllegalArgumentException.class, () -> CompileOptions.defaults().withThreads(1000));
        assertEquals("CompileOptions.threads must be from 0 (all available processors) to 256, got 1000", e.getMessage());
    }

    /** A closed model refuses to run on every CPU backend alike. */
    @Test
    void bothCpuBackendsRefuseToRunAfterClose() {
        Graph g = Graph.of(MobileNetV3Config.small());
        Weights weights = RandomWeights.generate(g, 1);
        for (var backend : java.util.List.of(new FastBackend(), new ReferenceBackend())) {
            CompiledModel m = backend.compile(g, weights, CompileOptions.defaults());
            m.close();
            var e = assertThrows(IllegalStateException.class, () -> m.run(RandomWeights.input(1, 64, 64, 1)), backend.name());
            assertEquals("this compiled model was closed", e.getMessage(), backend.name());
            assertThrows(IllegalStateException.class, () -> m.trace(RandomWeights.input(1, 64, 64, 1)), backend.name());
        }
    }

    /** A 1x3x8000x8000 input to Large: refused with the size it needs, before the buffers are allocated. */
    @Test
    void anInputTooLargeForTheHeapIsRefusedNamingTheNeed() {
        Graph g = Graph.of(MobileNetV3Config.large());
        Weights weights = RandomWeights.generate(g, 1);
        Tensor huge = Tensor.zeros(1, 3, 8000, 8000);
        try (CompiledModel fast = new FastBackend().compile(g, weights, CompileOptions.defaults().withThreads(2));
             CompiledModel ref = new ReferenceBackend().compile(g, weights)) {
            var f = assertThrows(dev.mnv3.core.tensor.MemoryLimitException.class, () -> fast.run(huge));
            assertTrue(f.getMessage().startsWith("the cpu backend's buffers for large(width 1.0, 1000 classes) at 8000x8000 on "
                    + "2 threads needs "), f.getMessage());
            var r = assertThrows(dev.mnv3.core.tensor.MemoryLimitException.class, () -> ref.run(huge));
            assertTrue(r.getMessage().startsWith("a run of large(width 1.0, 1000 classes) on 1 image of 8000x8000 on cpu-reference "
                    + "needs "), r.getMessage());
            // the model still works at a size that fits
            assertEquals(1000, fast.run(RandomWeights.input(1, 64, 64, 3)).size());
        }
    }

    @Test
    void theVectorApiIsOnInTheseTestsAtTheRequestedWidth() {
        assertEquals(true, FastBackend.vectorized(), "surefire runs with --add-modules jdk.incubator.vector");
        String forced = System.getProperty("mnv3.cpu.vectorBits");
        int preferred = Math.min(512, jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
        int expected = forced != null ? Integer.parseInt(forced) : preferred;
        FastBackend b = new FastBackend();
        assertEquals(expected, b.vectorBits(), b.kernelsDescription());
        assertTrue(b.kernelsDescription().startsWith("Vector API, " + expected + "-bit vectors"), b.kernelsDescription());
        // a width this CPU has is compiled to vector instructions; a wider forced one says it is not
        assertEquals(expected <= preferred, b.compiledToVectorInstructions(), b.kernelsDescription());
        assertEquals(expected <= preferred, !b.kernelsDescription().contains("NOT compiled"), b.kernelsDescription());
        assertEquals(0, new FastBackend(true).vectorBits());
    }
}
