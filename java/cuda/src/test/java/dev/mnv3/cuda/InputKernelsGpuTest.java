package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.PreprocessTaps;
import dev.mnv3.cuda.plan.StorageType;

/**
 * The input kernels alone on the GPU: the preprocessing of raw images bit for bit as the host's
 * {@link Preprocessing} computes it, and the 16-bit conversions bit for bit as {@link DType} does.
 */
@Tag("gpu")
class InputKernelsGpuTest {
    @ParameterizedTest(name = "{0} images {1}x{2} -> resize {3}, crop {4}")
    @CsvSource({"2, 480, 640, 256, 224", "1, 80, 100, 256, 224", "3, 1000, 37, 232, 224", "2, 224, 224, 224, 224"})
    void preprocessingIsTheHostsBitForBit(int n, int h, int w, int resize, int crop) {
        Preprocessing p = new Preprocessing(resize, crop);
        Tensor images = HostIoTest.images(n, h, w, h * 31L + w);
        ForwardPlan plan = ForwardPlan.of(dev.mnv3.core.graph.Graph.of(dev.mnv3.core.MobileNetV3Config.small()), n, crop, crop,
                StorageType.F32, 132, ForwardPlan.InputSpec.images(p, h, w));
        ForwardPlan.Preprocess step = (ForwardPlan.Preprocess) plan.steps().getFirst();
        PreprocessTaps taps = PreprocessTaps.of(plan);
        float[] want = p.apply(images).data();
        try (DeviceArrays d = new DeviceArrays(); Arena a = Arena.ofConfined()) {
            long src = d.uploadBytes(images.bytes());
            long t = d.poisoned((int) (taps.bytes() / 4));
            d.driver.upload(t, taps.image(a), taps.bytes(), d.stream);
            long rows = d.poisoned((int) step.rows().elements()), out = d.poisoned(want.length);
            d.runtime.kernels.preprocessRows(d.args, d.stream, src, t + taps.colFirst(), t + taps.colCount(), t + taps.colWeights(),
                    taps.maxColTaps(), rows, n, h, w, step.y0(), step.y1(), crop, step.rows().elements());
            d.runtime.kernels.preprocessCols(d.args, d.stream, rows, t + taps.rowFirst(), t + taps.rowCount(), t + taps.rowWeights(),
                    taps.maxRowTaps(), out, n, step.rows().h(), step.y0(), crop, want.length);
            assertArrayEquals(want, d.download(out, want.length));
            assertTrue(d.guardIntact(out, want.length));
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void conversionsAreTheHostsBitForBit(DType type) {
        float[] v = KernelsGpuTest.random(10_001, 5);
        v[0] = Float.NaN;
        v[1] = Float.POSITIVE_INFINITY;
        v[2] = 1e-40f;
        v[3] = 65520f; // rounds to F16's infinity
        Tensor half = new Tensor(new int[] {v.length}, v).to(type);
        StorageType s = type == DType.F16 ? StorageType.F16 : StorageType.BF16;
        try (DeviceArrays d = new DeviceArrays()) {
            long x = d.upload(v), h = d.poisoned(s, v.length), back = d.poisoned(v.length);
            d.runtime.kernels.convertFromFloat(d.args, d.stream, type, x, h, v.length);
            d.runtime.kernels.convertToFloat(d.args, d.stream, type, h, back, v.length);
            float[] down = d.download(back, v.length);
            float[] want = half.toFloat().data();
            for (int i = 0; i < v.length; i++) {
                assertTrue(Float.floatToRawIntBits(want[i]) == Float.floatToRawIntBits(down[i])
                        || Float.isNaN(want[i]) && Float.isNaN(down[i]), i + ": " + v[i] + " -> " + down[i] + ", host " + want[i]);
            }
        }
    }
}
