package dev.mnv3.cpu.fast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.CpuSettings;
import dev.mnv3.core.backend.CrossCheck;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.cpu.ReferenceBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A model starts on plain loops over the vector kernels' weight panels and switches to the vector
 * kernels once the background warm-up has found them compiled: before, every result is the plain
 * loops' bit for bit, after, the vector kernels'; both within the FP32 tolerance of the reference.
 */
class WarmStartTest {
    @Test
    void plainLoopsRunUntilTheWarmUpSwitchesToTheVectorKernels() throws Exception {
        CpuKernels best = CpuKernels.best();
        assumeTrue(best.vectorBits() > 0, "no vector kernels here: " + best.describe());
        Graph g = Graph.of(MobileNetV3Config.small());
        var weights = RandomWeights.generate(g, 3);
        Tensor x = RandomWeights.input(3, 64, 72, 4);
        WarmStart warm = new WarmStart(best);
        List<PreparedLayers.Layer> layers = FastModel.prepare(g, weights, warm);
        try (FastModel m = new FastModel(g, layers, warm, 1, 1);
             FastModel plain = new FastModel(g, layers, new ScalarKernels("test", best.panel(), best.panel() / 2), 1, 1);
             FastModel vector = new FastModel(g, layers, best, 1, 1);
             CompiledModel ref = new ReferenceBackend().compile(g, weights)) {
            float[] want = ref.run(x).data();
            Tensor before = m.run(x);
            assertFalse(warm.vectorsRunning(), "nothing started the warm-up");
            assertFalse(m.warmedUp(), "the model says it runs stand-in code");
            assertTrue(vector.warmedUp() && ref.warmedUp());
            assertArrayEquals(plain.run(x).data(), before.data(), "plain loops run before the switch");
            assertTrue(TensorDiff.of(before.data(), want).relL2() <= CrossCheck.FP32_TOLERANCE);

            boolean[] closed = {false};
            warm.start(g, layers, 1, () -> closed[0]);
            long deadline = System.nanoTime() + 45_000_000_000L; // the warm-up gives up waiting after 30 s and switches anyway
            while (!warm.vectorsRunning() && System.nanoTime() < deadline) Thread.sleep(10);
            assertTrue(warm.vectorsRunning(), "the warm-up switched to the vector kernels");
            assertTrue(m.warmedUp(), "the model says it runs its kernels");
            Tensor after = m.run(x);
            assertArrayEquals(vector.run(x).data(), after.data(), "the vector kernels run after the switch");
            assertTrue(TensorDiff.of(after.data(), want).relL2() <= CrossCheck.FP32_TOLERANCE);
            // the two differ (the check above can tell them apart), by rounding only
            assertFalse(java.util.Arrays.equals(before.data(), after.data()), "plain loops and vectors sum in another order");
        }
    }

    @Test
    void aCompiledModelWarmsUpOnlyWhenTheSettingsAsk() {
        CpuKernels best = CpuKernels.best();
        assumeTrue(best.vectorBits() > 0, "no vector kernels here: " + best.describe());
        CpuSettings warm = CpuSettings.defaults().withWarmStart(true);
        assertSame(best, WarmStart.around(best, CpuSettings.defaults()), "the default: the vector kernels from the first call");
        assertInstanceOf(WarmStart.class, WarmStart.around(best, warm));
        ScalarKernels scalar = new ScalarKernels("test");
        assertSame(scalar, WarmStart.around(scalar, warm), "plain loops need no warm-up");
    }
}
