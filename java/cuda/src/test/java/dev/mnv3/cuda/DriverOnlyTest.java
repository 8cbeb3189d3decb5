package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.BackendUnavailableException;
import dev.mnv3.core.backend.CudaSettings;
import dev.mnv3.core.backend.CudnnMode;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import dev.mnv3.cuda.exec.CudaRuntime;

/**
 * The CUDA backend with nothing but the driver: {@link CudaModel} end to end on {@link FakeCuda}
 * with no cuDNN library at all. Every precision runs on our kernels alone, no cuDNN symbol is
 * ever looked up, nothing is left allocated, and asking for cuDNN where there is none is refused
 * with the reason.
 */
class DriverOnlyTest {
    private final FakeCuda.State state = new FakeCuda.State();

    @ParameterizedTest(name = "{0} {1}, cuDNN {2}")
    @CsvSource({"large, FP32, OFF", "large, TF32, OFF", "large, FP16, OFF", "large, BF16, OFF", "small, FP32, AUTO",
            "small, FP16, AUTO", "large dilated, TF32, AUTO", "small minimalistic, BF16, OFF"})
    void everyPrecisionRunsOnOurKernelsAlone(String model, Precision precision, CudnnMode mode) throws Exception {
        MobileNetV3Config config = switch (model) {
            case "large dilated" -> MobileNetV3Config.large().withDilated(true);
            case "small minimalistic" -> MobileNetV3Config.small().withMinimalistic(true);
            default -> MobileNetV3Config.named(model);
        };
        Graph graph = Graph.of(config);
        CudaRuntime rt = FakeCuda.runtime(state, false);
        try (CudaModel m = new CudaModel(rt, graph, RandomWeights.generate(graph, 3), precision, true, mode)) {
            assertFalse(m.usesCudnn());
            Tensor x = RandomWeights.input(2, 96, 64, 1);
            for (int i = 0; i < 3; i++) assertEquals(2 * graph.numClasses(), m.run(x).size()); // eager, capture, replay
            assertEquals(graph.nodes().size(), m.trace(x).size());
            assertTrue(m.kernelChoices().isEmpty(), "nothing to choose between: " + m.kernelChoices());
        }
        assertEquals(List.of(), state.violations);
        assertEquals(List.of(), state.leaks());
        assertEquals(0, state.convolutions.get(), "a cuDNN convolution ran");
        assertEquals(List.of(), state.lookedUp.stream().filter(s -> s.startsWith("cudnn")).toList(), "cuDNN symbols looked up");
        List<String> expected = switch (precision) {
            case FP32 -> List.of("mnv3_pointwise_f32", "mnv3_conv_f32");
            case TF32 -> List.of("mnv3_pointwise_tf32", "mnv3_conv_f32");
            case FP16 -> List.of("mnv3_pointwise_f16", "mnv3_stem_f16_v8");
            case BF16 -> List.of("mnv3_pointwise_bf16", "mnv3_stem_bf16_v8");
        };
        for (String k : expected) assertTrue(state.launches.containsKey(k), k + " did not run: " + state.launches.keySet());
        if (!config.minimalistic()) { // every SE projection is ours, so the excitation never makes its own pass
            assertTrue(state.launches.keySet().stream().noneMatch(k -> k.startsWith("mnv3_channel_scale")), state.launches.keySet()
                    .toString());
        }
    }

    @Test
    void cudnnOnWithoutCudnnFailsWithTheReason() {
        Graph graph = Graph.of(MobileNetV3Config.small());
        CudaRuntime rt = FakeCuda.runtime(state, false);
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> new CudaModel(rt, graph, RandomWeights.generate(graph, 3), Precision.FP32, true, CudnnMode.ON));
        assertTrue(e.getMessage().startsWith("CudaSettings.cudnn is ON, but cuDNN cannot be used here: cuDNN 9: libcudnn.so.9 was not found"),
                e.getMessage());
        assertEquals(List.of(), state.leaks());
    }

    @Test
    void offNeverLooksForCudnnEvenWhereItIs() {
        Graph graph = Graph.of(MobileNetV3Config.small());
        CudaRuntime rt = FakeCuda.runtime(state, true);
        try (CudaModel m = new CudaModel(rt, graph, RandomWeights.generate(graph, 3), Precision.FP16, true, CudnnMode.OFF)) {
            assertFalse(m.usesCudnn());
            m.run(RandomWeights.input(1, 64, 64, 1));
        }
        assertEquals(List.of(), state.lookedUp.stream().filter(s -> s.startsWith("cudnn")).toList());
        try (CudaModel m = new CudaModel(rt, graph, RandomWeights.generate(graph, 3), Precision.FP16, true, CudnnMode.ON)) {
            assertTrue(m.usesCudnn(), "where cuDNN is, on and auto use it");
        }
        assertEquals(List.of(), state.violations);
    }

    @Test
    void autoWithoutCudnnSaysSoInOneInfoLineOncePerProcess() {
        Graph graph = Graph.of(MobileNetV3Config.small());
        Weights weights = RandomWeights.generate(graph, 3);
        CudaRuntime rt = FakeCuda.runtime(state, false);
        Logger logger = Logger.getLogger(CudaRuntime.class.getName());
        List<String> infos = new ArrayList<>();
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel() == Level.INFO) infos.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(h);
        try {
            for (int i = 0; i < 2; i++) {
                try (CudaModel m = new CudaModel(rt, graph, weights, Precision.FP32, true, CudnnMode.AUTO)) {
                    assertFalse(m.usesCudnn());
                }
            }
        } finally {
            logger.removeHandler(h);
        }
        assertEquals(1, infos.size(), infos.toString());
        assertTrue(infos.getFirst().startsWith("no cuDNN (cuDNN 9: libcudnn.so.9 was not found; looked in:): the CUDA backend "
                + "runs on mnv3's own kernels alone"), infos.getFirst());
        assertEquals(1, infos.getFirst().lines().count(), "one line");
    }

    @Test
    void convKernelsThatAskForCudnnAreRefusedWithoutIt() {
        Graph graph = Graph.of(MobileNetV3Config.small());
        CudaRuntime rt = FakeCuda.runtime(state, false);
        CudaSettings settings = CudaSettings.defaults().withConvKernels("pointwise=cudnn").withCudnn(CudnnMode.OFF);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new CudaModel(rt, graph, RandomWeights.generate(graph, 3), Precision.FP32, settings));
        assertEquals("CudaSettings.pointwise is CUDNN, but this model runs without cuDNN (CudaSettings.cudnn is OFF)", e.getMessage());
    }
}
