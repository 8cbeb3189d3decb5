package dev.mnv3.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.image.RgbImage;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.cpu.fast.FastBackend;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The host tensor types every backend takes: F16/BF16 inputs and outputs, raw U8 images, and calls in flight. */
class HostTypesTest {
    private final Graph graph = Graph.of(MobileNetV3Config.small());

    @Test
    void halfInputsRunAsTheirExactFloatValuesAndLogitsComeBackInTheTypeAsked() {
        Tensor x = RandomWeights.input(2, 64, 64, 5);
        try (CompiledModel m = new FastBackend().compile(graph, RandomWeights.generate(graph, 1), CompileOptions.defaults())) {
            for (DType t : new DType[] {DType.F16, DType.BF16}) {
                Tensor half = x.to(t);
                Tensor got = m.run(half), want = m.run(half.toFloat());
                assertArrayEquals(want.data(), got.data(), t + " input");
                assertTrue(TensorDiff.of(got, m.run(x)).relL2() > 0, "rounding the input moved the logits: the input was rounded");
                Tensor logits = m.run(x, t);
                assertEquals(t, logits.dtype());
                assertArrayEquals(m.run(x).to(t).halves(), logits.halves());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> m.run(Tensor.ofBytes(new int[] {1, 3, 64, 64}, new byte[3 * 64 * 64])));
            assertTrue(e.getMessage().startsWith("input is U8 [1,3,64,64], expected F32, F16 or BF16"), e.getMessage());
        }
    }

    @Test
    void rawImagesArePreprocessedAsDecodedImagesAre() {
        int n = 2, h = 97, w = 131;
        byte[] px = new byte[n * h * w * 3];
        new SplittableRandom(3).nextBytes(px);
        Tensor images = Tensor.ofBytes(new int[] {n, h, w, 3}, px);
        Preprocessing p = new Preprocessing(72, 64);
        RgbImage[] decoded = new RgbImage[n];
        for (int i = 0; i < n; i++) {
            int[] rgb = new int[h * w];
            for (int j = 0; j < rgb.length; j++) {
                int o = (i * h * w + j) * 3;
                rgb[j] = (px[o] & 0xff) << 16 | (px[o + 1] & 0xff) << 8 | px[o + 2] & 0xff;
            }
            decoded[i] = new RgbImage(w, h, rgb);
        }
        assertArrayEquals(p.apply(decoded).data(), p.apply(images).data());
        try (CompiledModel m = new FastBackend().compile(graph, RandomWeights.generate(graph, 1), CompileOptions.defaults())) {
            assertArrayEquals(m.run(p.apply(decoded)).data(), m.runImages(images, p).data());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.apply(Tensor.zeros(1, 8, 8, 3)));
        assertEquals("images is F32 [1,8,8,3], expected raw images, U8 [N,H,W,3] (RGB)", e.getMessage());
    }

    @Test
    void callsInFlightGiveWhatRunGives() throws Exception {
        try (CompiledModel m = new FastBackend().compile(graph, RandomWeights.generate(graph, 1), CompileOptions.defaults())) {
            Tensor[] inputs = new Tensor[4];
            @SuppressWarnings("unchecked")
            CompletableFuture<Tensor>[] futures = new CompletableFuture[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                inputs[i] = RandomWeights.input(1 + i, 64, 64, i);
                futures[i] = m.runAsync(inputs[i]);
            }
            for (int i = 0; i < inputs.length; i++) assertArrayEquals(m.run(inputs[i]).data(), futures[i].get().data());
        }
    }
}
