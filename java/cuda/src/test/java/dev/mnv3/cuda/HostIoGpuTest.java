package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
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
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The other ways in and out on the GPU, against the float host path of the same model: raw U8
 * images preprocessed on the device, F16/BF16 inputs, and device-resident tensors. Each must give
 * what the float path gives on the same values (to float summation noise).
 */
@Tag("gpu")
@ExtendWith(NoCaptureFailures.class)
class HostIoGpuTest {
    private static void close(Tensor got, Tensor want, String what) {
        double rel = TensorDiff.of(got.toFloat(), want).relL2();
        assertTrue(rel <= 1e-6, what + ": rel L2 " + rel);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"FP32", "FP16"})
    void everyWayInGivesTheFloatPathsLogits(Precision precision) {
        Graph graph = Graph.of(MobileNetV3Config.large());
        Preprocessing p = Preprocessing.imagenet();
        Tensor images = HostIoTest.images(4, 480, 640, 11);
        try (CompiledModel m = new CudaBackend().compile(graph, RandomWeights.generate(graph, 1),
                CompileOptions.defaults().withPrecision(precision))) {
            Tensor viaHost = m.run(p.apply(images));
            close(m.runImages(images, p), viaHost, "images preprocessed on the device");
            Tensor x = RandomWeights.input(4, 224, 224, 2);
            for (DType t : new DType[] {DType.F16, DType.BF16}) close(m.run(x.to(t)), m.run(x.to(t).toFloat()), t + " input");
            try (HostTensor pinned = m.allocateHost(DType.F32, 4, 3, 224, 224)) {
                MemorySegment.copy(x.data(), 0, pinned.tensor().segment(), ValueLayout.JAVA_FLOAT, 0, x.size());
                for (int i = 0; i < 3; i++) close(m.run(pinned.tensor()), m.run(x), "pinned input, run " + i);
            }
            try (DeviceTensor in = m.allocate(DType.F32, 4, 3, 224, 224); DeviceTensor raw = m.allocate(DType.U8, 4, 480, 640, 3);
                 DeviceTensor out = m.allocate(DType.F32, 4, 1000); DeviceTensor half = m.allocate(DType.F16, 4, 1000)) {
                in.copyFrom(x);
                m.run(in, out);
                close(out.toHost(), m.run(x), "device tensors");
                m.run(in, half);
                assertArrayEquals(m.run(x).to(DType.F16).halves(), half.toHost().halves(), "F16 logits on the device");
                raw.copyFrom(images);
                m.runImages(raw, p, out);
                close(out.toHost(), viaHost, "device images");
            }
        }
    }
}
