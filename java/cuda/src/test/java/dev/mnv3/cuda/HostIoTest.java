package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.DeviceTensor;
import dev.mnv3.core.tensor.HostTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.ReferenceBackend;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import dev.mnv3.cuda.exec.CudaRuntime;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.PreprocessTaps;
import dev.mnv3.cuda.plan.StorageType;
import dev.mnv3.cuda.plan.WeightLayout;

/**
 * Inputs in other types, without a GPU: raw U8 images preprocessed on the device, F16/BF16
 * inputs widened on the device, and device-resident tensors. The plans are checked by running
 * them on the CPU ({@link PlanInterpreter}, against the reference on what the host would make of
 * the same input) and by running the executor on {@link FakeCuda} (every call valid, both CUDA
 * graphs captured, device tensors round-trip, nothing left allocated).
 */
class HostIoTest {
    private final FakeCuda.State state = new FakeCuda.State();
    private final Graph graph = Graph.of(MobileNetV3Config.small());
    private final Weights weights = RandomWeights.generate(graph, 3);

    static Tensor images(int n, int h, int w, long seed) {
        byte[] px = new byte[n * h * w * 3];
        new SplittableRandom(seed).nextBytes(px);
        return Tensor.ofBytes(new int[] {n, h, w, 3}, px);
    }

    @ParameterizedTest(name = "{0} plan, {1} input")
    @CsvSource({"F32, F16", "F32, BF16", "F16, BF16", "BF16, F16"})
    void aHalfInputPlanIsTheFloatPlanOnTheWidenedValues(StorageType storage, DType type) {
        Tensor x = RandomWeights.input(2, 67, 45, 4).to(type);
        ForwardPlan plan = ForwardPlan.of(graph, 2, 67, 45, storage, 132, ForwardPlan.InputSpec.tensor(type));
        assertEquals(ForwardPlan.Buffer.RAW_INPUT, plan.given().buffer());
        assertEquals(2, plan.elementBytes(ForwardPlan.Buffer.RAW_INPUT));
        assertTrue(plan.steps().getFirst() instanceof ForwardPlan.ToFloat);
        Map<String, Tensor> got = new PlanInterpreter(plan, WeightLayout.of(graph, weights, storage)).trace(x);
        Map<String, Tensor> want = new PlanInterpreter(ForwardPlan.of(graph, 2, 67, 45, storage, 132),
                WeightLayout.of(graph, weights, storage)).trace(x.toFloat());
        for (String node : want.keySet()) assertArrayEquals(want.get(node).data(), got.get(node).data(), node);
    }

    @Test
    void anImagesPlanPreprocessesOnTheDeviceAsTheHostDoes() {
        Preprocessing p = new Preprocessing(80, 64);
        Tensor img = images(2, 97, 131, 7);
        ForwardPlan plan = ForwardPlan.of(graph, 2, 64, 64, StorageType.F32, 132, ForwardPlan.InputSpec.images(p, 97, 131));
        ForwardPlan.Preprocess pre = (ForwardPlan.Preprocess) plan.steps().getFirst();
        Preprocessing.Region r = p.sourceRegion(131, 97);
        assertEquals(r.y1() - r.y0(), pre.rows().h(), "only the source rows the crop needs");
        assertEquals(1, plan.elementBytes(ForwardPlan.Buffer.RAW_INPUT));
        assertEquals(2L * 97 * 131 * 3, plan.sizes().get(ForwardPlan.Buffer.RAW_INPUT));
        Map<String, Tensor> got = new PlanInterpreter(plan, WeightLayout.of(graph, weights)).trace(img);
        try (CompiledModel ref = new ReferenceBackend().compile(graph, weights)) {
            Map<String, Tensor> want = ref.trace(p.apply(img));
            for (String node : want.keySet()) {
                assertTrue(TensorDiff.of(got.get(node), want.get(node)).within(1e-5), node);
            }
        }
        PreprocessTaps taps = PreprocessTaps.of(plan);
        assertArrayEquals(p.taps(131, 97, false).first(), taps.columns().first());
        assertEquals(64, taps.crop());
        assertTrue(taps.maxColTaps() >= 3 && taps.bytes() % 256 == 0, taps.toString());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"FP32", "FP16"})
    void everyInputKindRunsThroughTheExecutor(Precision precision) {
        CudaRuntime rt = FakeCuda.runtime(state);
        Preprocessing p = new Preprocessing(72, 64);
        try (CudaModel m = new CudaModel(rt, graph, weights, precision, true)) {
            for (int i = 0; i < 3; i++) { // eager, capture, replay
                assertEquals(List.of(2, 1000), shape(m.runImages(images(2, 90, 120, i), p)));
                assertEquals(List.of(2, 1000), shape(m.run(RandomWeights.input(2, 64, 64, i).to(DType.F16))));
            }
            assertEquals(graph.nodes().size(), m.trace(RandomWeights.input(1, 64, 64, 1).to(DType.BF16)).size());
            Tensor x = RandomWeights.input(2, 64, 64, 9);
            try (DeviceTensor in = m.allocate(DType.F32, 2, 3, 64, 64); DeviceTensor out = m.allocate(DType.F16, 2, 1000);
                 DeviceTensor raw = m.allocate(DType.U8, 2, 90, 120, 3)) {
                in.copyFrom(x);
                assertArrayEquals(x.data(), in.toHost().data(), "a device tensor holds what was copied in");
                for (int i = 0; i < 3; i++) m.run(in, out);
                raw.copyFrom(images(2, 90, 120, 3));
                m.runImages(raw, p, out);
                assertEquals(DType.F16, out.toHost().dtype());
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.run(in, in));
                assertTrue(e.getMessage().startsWith("logits go to an F32, F16 or BF16 device tensor [2,1000]"), e.getMessage());
            }
        }
        assertEquals(List.of(), state.violations);
        assertEquals(List.of(), state.leaks());
        for (String k : List.of("mnv3_preprocess_rows", "mnv3_preprocess_cols", "mnv3_convert_to_f32_f16",
                "mnv3_convert_to_f32_bf16", "mnv3_convert_from_f32_f16")) {
            assertTrue(state.launches.containsKey(k), k + " did not run: " + state.launches.keySet());
        }
        assertTrue(state.captures.get() >= 3, "the host and the steps-only graphs were captured: " + state.captures);
    }

    /** A pinned host tensor goes to the device by DMA straight from it; any other through the staging buffer, alike. */
    @Test
    void pinnedHostTensorsAreCopiedStraightFromTheirMemory() {
        CudaRuntime rt = FakeCuda.runtime(state);
        Tensor x = RandomWeights.input(2, 64, 64, 3);
        try (CudaModel m = new CudaModel(rt, graph, weights, Precision.FP32, true);
             HostTensor pinned = m.allocateHost(DType.F32, 2, 3, 64, 64)) {
            MemorySegment.copy(x.data(), 0, pinned.tensor().segment(), ValueLayout.JAVA_FLOAT, 0, x.size());
            assertEquals(1, state.host.size(), "pinned by the driver (the plans' staging buffers come with the first run)");
            for (int i = 0; i < 3; i++) m.run(pinned.tensor());
            assertTrue(state.uploadSources.contains(pinned.tensor().segment().address()), "no upload read the pinned tensor");
            int before = state.uploadSources.size();
            try (HostTensor plain = HostTensor.offHeap(DType.F32, 2, 3, 64, 64)) {
                m.run(plain.tensor());
                assertTrue(state.uploadSources.subList(before, state.uploadSources.size()).stream()
                        .noneMatch(a -> a == plain.tensor().segment().address()), "memory the driver does not know is staged");
            }
            assertArrayEquals(x.data(), pinned.tensor().toFloat().data());
        }
        assertEquals(List.of(), state.violations);
        assertEquals(List.of(), state.leaks());
    }

    @Test
    void aDeviceTensorOfAnotherDeviceOrAClosedOneIsRefused() {
        state.devices = 2;
        CudaRuntime rt = FakeCuda.runtime(state, true, 0), other = FakeCuda.runtime(state, false, 1);
        try (CudaModel a = new CudaModel(rt, graph, weights, Precision.FP32, true);
             CudaModel b = new CudaModel(other, graph, weights, Precision.FP32, true)) {
            try (DeviceTensor there = b.allocate(DType.F32, 1, 3, 64, 64); DeviceTensor out = a.allocate(DType.F32, 1, 1000)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.run(there, out));
                assertTrue(e.getMessage().contains("is not on this model's device 0"), e.getMessage());
            }
            DeviceTensor t = a.allocate(DType.F32, 1, 3, 64, 64);
            t.close();
            t.close();
            assertThrows(IllegalStateException.class, () -> t.copyFrom(Tensor.zeros(1, 3, 64, 64)));
            try (DeviceTensor in = a.allocate(DType.F32, 1, 3, 64, 64)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> in.copyFrom(Tensor.zeros(2, 3, 64, 64)));
                assertEquals("a F32 [2,3,64,64] tensor does not fit the device tensor F32 [1,3,64,64]", e.getMessage());
            }
        }
        assertEquals(List.of(), state.violations);
        assertEquals(List.of(), state.leaks());
    }

    private static List<Integer> shape(Tensor t) {
        return java.util.Arrays.stream(t.shape()).boxed().toList();
    }
}
