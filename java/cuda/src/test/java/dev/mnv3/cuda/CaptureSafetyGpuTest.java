package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.DeviceTensor;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link CaptureSafetyTest} on a GPU, where captures cannot be held open but can be made many and
 * concurrent: four threads cycle six shapes on a model of four lanes, so every lane keeps building
 * plans (allocations, pinned memory, timing), evicting them (frees) and capturing their graphs,
 * while other threads preprocess raw images of new sizes, copy device tensors in and out, and
 * compile and close other models (weights' uploads, cuDNN handles created and destroyed). Every
 * result must equal the one-thread result, and no capture may fail (NoCaptureFailures).
 */
@Tag("gpu")
@ExtendWith(NoCaptureFailures.class)
class CaptureSafetyGpuTest {
    @Test
    void lanesCaptureWhileOthersBuildEvictCopyAndClose() throws Exception {
        Graph graph = Graph.of(MobileNetV3Config.small());
        Weights weights = RandomWeights.generate(graph, 5);
        CompileOptions options = CompileOptions.defaults().withPrecision(Precision.FP16);
        List<Tensor> shapes = new ArrayList<>();
        for (int s = 0; s < 6; s++) shapes.add(RandomWeights.input(1 + s % 3, 64 + 32 * (s / 3), 64, s));
        List<Tensor> alone = new ArrayList<>();
        try (CompiledModel once = new CudaBackend().compile(graph, weights, options)) {
            for (Tensor x : shapes) alone.add(once.run(x));
        }
        try (CompiledModel m = new CudaBackend().compile(graph, weights, options);
             ExecutorService pool = Executors.newCachedThreadPool()) {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int first = t;
                work.add(pool.submit(() -> {
                    for (int i = 0; i < 24; i++) {
                        int s = (first + i) % shapes.size();
                        for (int r = 0; r < 2; r++) { // eager, then captured (or replayed)
                            double rel = TensorDiff.of(m.run(shapes.get(s)), alone.get(s)).relL2();
                            assertTrue(rel <= 1e-6, "shape " + s + ": rel L2 " + rel);
                        }
                    }
                    return null;
                }));
            }
            work.add(pool.submit(() -> {
                Preprocessing p = new Preprocessing(72, 64);
                for (int s = 0; s < 8; s++) m.runImages(HostIoTest.images(1, 70 + 7 * s, 90 - 3 * s, s), p);
                for (int i = 0; i < 8; i++) {
                    try (DeviceTensor in = m.allocate(DType.F32, 1, 3, 64, 64);
                         DeviceTensor out = m.allocate(DType.F32, 1, graph.numClasses())) {
                        in.copyFrom(shapes.getFirst());
                        m.run(in, out);
                        assertTrue(TensorDiff.of(out.toHost(), alone.getFirst()).relL2() <= 1e-6, "device tensors");
                    }
                }
                return null;
            }));
            work.add(pool.submit(() -> {
                for (int i = 0; i < 3; i++) {
                    try (CompiledModel other = new CudaBackend().compile(graph, weights, options)) {
                        other.run(shapes.get(i));
                        other.run(shapes.get(i));
                    }
                }
                return null;
            }));
            for (Future<?> f : work) f.get(120, TimeUnit.SECONDS);
        }
    }
}
