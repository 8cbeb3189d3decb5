package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Activation;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CudaSettings;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import dev.mnv3.cuda.exec.CudaRuntime;
import dev.mnv3.cuda.exec.PlatformThreads;
import dev.mnv3.cuda.ffi.Cudnn;
import dev.mnv3.cuda.exec.ConvAlgorithm;

/**
 * The GPU executor (CudaModel, its lanes, PlanExecutor with its kernel choices, CUDA-graph capture,
 * trace, close) run end to end against {@link FakeCuda}: no GPU, nothing computed, but every
 * driver and cuDNN call made through the real bindings and checked, every kernel pointer
 * argument inside device memory, and nothing left allocated afterwards.
 */
class FakeCudaTest {
    private final FakeCuda.State state = new FakeCuda.State();

    @ParameterizedTest(name = "{0} {1}, depthwise {2}, pointwise {3}, stem {4}")
    @CsvSource({
            "large, FP32, auto, auto, auto", "small, TF32, cudnn, auto, auto",
            "large, FP16, auto, auto, auto", "large, BF16, auto, auto, auto",
            "large, FP16, ours, ours, ours", "small, FP16, cudnn, cudnn, cudnn",
            "large, BF16, cudnn, ours, cudnn"})
    void everyCallIsValidAndEverythingIsFreed(String model, Precision precision, String dw, String pw, String stem)
            throws Exception {
        Graph graph = Graph.of(MobileNetV3Config.named(model));
        Weights weights = RandomWeights.generate(graph, 3);
        CudaRuntime rt = FakeCuda.runtime(state);
        CudaSettings settings = CudaSettings.defaults().withConvKernels("depthwise=" + dw + ",pointwise=" + pw + ",stem=" + stem);
        try (CudaModel m = new CudaModel(rt, graph, weights, precision, settings)) {
            Tensor x = RandomWeights.input(2, 96, 64, 1);
            for (int i = 0; i < 3; i++) assertEquals(List.of(2, graph.numClasses()), shape(m.run(x))); // eager, capture, replay
            assertEquals(graph.nodes().size(), m.trace(x).size());
            assertTrue(m.deviceMillis(x, 2) >= 0);
            // five more shapes: the lane keeps four plans and closes the eldest
            for (int s = 0; s < 5; s++) m.run(RandomWeights.input(1 + s % 2, 64 + 32 * s, 64, s));
            if (precision == Precision.FP16 || precision == Precision.BF16) {
                assertTrue(state.launches.keySet().stream().anyMatch(k -> k.startsWith("mnv3_se_fc")), state.launches.toString());
            }
        }
        assertEquals(List.of(), state.violations);
        assertEquals(List.of(), state.leaks());
        assertEquals(List.of(), rt.captureFailures());
        assertTrue(state.captures.get() >= 1 && state.graphLaunches.get() >= 1,
                state.captures + " captures, " + state.graphLaunches + " graph launches");
        boolean allOurs = dw.equals("ours") && pw.equals("ours") && stem.equals("ours");
        assertEquals(allOurs, state.convolutions.get() == 0, state.convolutions + " cuDNN convolutions");
        // every candidate cuDNN offered was timed, so several algorithms ran; strict FP32 ran each with FMA math only
        assertTrue(allOurs || state.mathByAlgorithm.size() >= 2, "algorithms run: " + state.mathByAlgorithm);
        assertTrue(state.mathByAlgorithm.keySet().stream().allMatch(a -> a < ConvAlgorithm.FFT), state.mathByAlgorithm.toString());
        state.mathByAlgorithm.values().forEach(math -> {
            assertFalse(math.contains(Cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION), state.mathByAlgorithm.toString());
            if (precision == Precision.FP32) assertEquals(Set.of(Cudnn.CUDNN_FMA_MATH), math, state.mathByAlgorithm.toString());
        });
    }

    /** The fake catches a kernel that reads what a pageable upload has not yet delivered; upload() orders it. */
    @Test
    void anUploadNothingOrderedIsCaughtAndUploadOrdersIt() throws Throwable {
        CudaRuntime rt = FakeCuda.runtime(state);
        MethodHandle rawCopy = Linker.nativeLinker().downcallHandle(FakeCuda.LOOKUP.find("cuMemcpyHtoD_v2").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MemorySegment stream = rt.driver.streamCreate();
        long x = rt.driver.memAlloc(64), bias = rt.driver.memAlloc(64);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pageable = a.allocate(64);
            rt.upload(bias, pageable, 64);
            assertEquals(0, (int) rawCopy.invokeExact(x, pageable, 64L)); // cuMemcpyHtoD alone: staged, not landed
            rt.kernels.biasAct(a, stream, x, bias, 0, 4, 4, 16, Activation.RELU);
            assertEquals(1, state.violations.size(), state.violations.toString());
            assertTrue(state.violations.getFirst().startsWith("mnv3_bias_act reads " + Long.toHexString(x)
                    + " before the upload to it has landed"), state.violations.getFirst());
            state.violations.clear();
            rt.upload(x, pageable, 64);
            rt.kernels.biasAct(a, stream, x, bias, 0, 4, 4, 16, Activation.RELU);
            assertEquals(List.of(), state.violations);
        }
        rt.driver.streamDestroy(stream);
        rt.driver.memFree(x);
        rt.driver.memFree(bias);
    }

    /**
     * Virtual threads compile, run and close: their GPU work runs on platform threads with the
     * context current (the fake flags any driver call from a virtual thread or without a context).
     */
    @Test
    void virtualThreadsAreServedOnPlatformThreads() throws Exception {
        Graph graph = Graph.of(MobileNetV3Config.small());
        CudaRuntime rt = FakeCuda.runtime(state);
        Weights weights = RandomWeights.generate(graph, 3);
        try (ExecutorService virtual = Executors.newVirtualThreadPerTaskExecutor()) {
            CudaModel m = virtual.submit(() -> PlatformThreads.call(() -> new CudaModel(rt, graph, weights, Precision.FP16, true)))
                    .get(60, TimeUnit.SECONDS);
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 12; t++) {
                int k = t;
                fs.add(virtual.submit(() -> {
                    for (int i = 0; i < 4; i++) {
                        m.run(RandomWeights.input(1 + k % 2, 64, 64, k));
                        Thread.yield(); // invites the scheduler to move this virtual thread to another carrier
                    }
                    return m.trace(RandomWeights.input(1, 64, 64, k)).size();
                }));
            }
            for (Future<?> f : fs) assertEquals(graph.nodes().size(), f.get(60, TimeUnit.SECONDS));
            virtual.submit(() -> m.close()).get(60, TimeUnit.SECONDS);
        }
        assertEquals(List.of(), state.violations);
        assertEquals(List.of(), state.leaks());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"FP32", "FP16"})
    void concurrentCallersUseTheirOwnLanesAndCloseWaitsForThem(Precision precision) throws Exception {
        Graph graph = Graph.of(MobileNetV3Config.small());
        CudaRuntime rt = FakeCuda.runtime(state);
        CudaModel m = new CudaModel(rt, graph, RandomWeights.generate(graph, 3), precision, true);
        ExecutorService ex = Executors.newFixedThreadPool(6);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int k = t;
                fs.add(ex.submit(() -> {
                    for (int i = 0; i < 5; i++) m.run(RandomWeights.input(1 + k % 3, 64, 64, k));
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get(60, TimeUnit.SECONDS);
        } finally {
            ex.shutdownNow();
        }
        m.close();
        assertEquals(List.of(), state.violations);
        assertEquals(List.of(), state.leaks());
        long laneStreams = state.streamsCreated.get() - state.runtimeStreams.size();
        assertTrue(laneStreams > 1 && laneStreams <= CudaSettings.DEFAULT_STREAMS, laneStreams + " lane streams for 6 concurrent callers");
    }

    private static List<Integer> shape(Tensor t) {
        return java.util.Arrays.stream(t.shape()).boxed().toList();
    }
}
