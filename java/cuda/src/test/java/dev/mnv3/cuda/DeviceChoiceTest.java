package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Activation;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CudaSettings;
import dev.mnv3.core.backend.CudnnMode;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.RandomWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import dev.mnv3.cuda.exec.CudaRuntime;

/**
 * A model lives on one device; models on several devices run at once in one JVM, each call in
 * its own device's context (the fake driver flags any memory of one context used in another).
 */
class DeviceChoiceTest {
    private final FakeCuda.State state = new FakeCuda.State();

    @Test
    void modelsOnTwoDevicesRunAtOnceEachInItsOwnContext() throws Exception {
        state.devices = 2;
        CudaRuntime gpu0 = FakeCuda.runtime(state, true, 0), gpu1 = FakeCuda.runtime(state, false, 1);
        Graph graph = Graph.of(MobileNetV3Config.small());
        CudaModel m0 = new CudaModel(gpu0, graph, RandomWeights.generate(graph, 1), Precision.FP16, true, CudnnMode.AUTO);
        CudaModel m1 = new CudaModel(gpu1, graph, RandomWeights.generate(graph, 2), Precision.FP32, true, CudnnMode.AUTO);
        assertEquals(0, m0.device());
        assertEquals(1, m1.device());
        ExecutorService ex = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                CudaModel m = t % 2 == 0 ? m0 : m1;
                int k = t;
                fs.add(ex.submit(() -> {
                    for (int i = 0; i < 4; i++) m.run(RandomWeights.input(1 + k % 2, 64, 64, i));
                    return m.trace(RandomWeights.input(1, 64, 64, k)).size();
                }));
            }
            for (Future<?> f : fs) assertEquals(graph.nodes().size(), f.get(60, TimeUnit.SECONDS));
        } finally {
            ex.shutdownNow();
            m0.close();
            m1.close();
        }
        assertEquals(List.of(), state.violations);
        assertEquals(List.of(), state.leaks());
    }

    @Test
    void theFakeFlagsOneDevicesMemoryUsedOnAnother() {
        state.devices = 2;
        CudaRuntime gpu0 = FakeCuda.runtime(state, false, 0), gpu1 = FakeCuda.runtime(state, false, 1);
        gpu0.makeCurrent();
        long x = gpu0.driver.memAlloc(64);
        gpu1.makeCurrent();
        long bias = gpu1.driver.memAlloc(64);
        MemorySegment stream = gpu1.driver.streamCreate();
        try (Arena a = Arena.ofConfined()) {
            gpu1.kernels.biasAct(a, stream, x, bias, 0, 4, 4, 16, Activation.RELU);
        }
        assertEquals(1, state.violations.size(), state.violations.toString());
        assertTrue(state.violations.getFirst().startsWith("mnv3_bias_act argument y = " + Long.toHexString(x) + " is memory of context"),
                state.violations.getFirst());
        gpu1.driver.streamDestroy(stream);
        gpu1.driver.memFree(bias);
        gpu0.makeCurrent();
        gpu0.driver.memFree(x);
    }

    @Test
    void theDeviceIsAnOption() {
        assertEquals(-1, CompileOptions.defaults().cuda().device(), "the backend's default device");
        assertEquals(0, CompileOptions.defaults().cuda().resolvedDevice());
        assertEquals(3, CudaSettings.defaults().withDevice(3).device());
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> CudaSettings.defaults().withDevice(-2)).getMessage().contains("CudaSettings.device must be a device number"));
    }
}
