package dev.mnv3.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The resampling loops give exactly the plain implementation's values ({@link PlainPreprocessing}), at every shape. */
class PreprocessingLoopsTest {
    @ParameterizedTest(name = "{0}x{1} resize {2} crop {3}")
    @CsvSource({"640, 480, 256, 224", "480, 640, 232, 224", "300, 200, 256, 224", "224, 224, 256, 224", "1, 1, 256, 224",
            "2000, 3, 256, 224", "3, 2000, 256, 224", "97, 61, 32, 24", "10, 10, 7, 7", "1000, 999, 24, 24", "50, 40, 300, 200"})
    void equalThePlainImplementationBitForBit(int width, int height, int resize, int crop) throws IOException {
        Preprocessing p = new Preprocessing(resize, crop);
        RgbImage image = image(width, height, new Random(width * 7919L + height));
        float[] fast = new float[3 * crop * crop];
        p.applyInto(image, fast, 0);
        assertArrayEquals(PlainPreprocessing.apply(p, image), fast);
        // the comparison can fail: another image moves the values
        RgbImage other = image(width, height, new Random(width * 7919L + height + 1));
        assertFalse(Arrays.equals(PlainPreprocessing.apply(p, other), fast));
    }

    /** Gradients (where resampling shows) plus noise (where rounding ties show). */
    static RgbImage image(int width, int height, Random rnd) {
        int[] rgb = new int[width * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int r = (x * 255 / width + rnd.nextInt(48)) & 0xff, g = (y * 255 / height + rnd.nextInt(48)) & 0xff;
                int b = rnd.nextInt(256);
                rgb[y * width + x] = r << 16 | g << 8 | b;
            }
        }
        return new RgbImage(width, height, rgb);
    }

    /** The rounding shortcut is Math.round, clamped, for every sum the passes can make (0 to 255 and a little beyond). */
    @Test
    void roundingIsMathRoundClampedToAByte() {
        Random rnd = new Random(11);
        List<Double> edges = new ArrayList<>(List.of(0.0, 0.49999999999999994, 0.5, 1.4999999999999998, 1.5, 254.5, 255.0,
                255.49999999999997, 255.5, 300.0));
        for (int n = 0; n <= 256; n++) edges.addAll(List.of(Math.nextDown(n + 0.5), n + 0.5, Math.nextUp(n + 0.5), (double) n));
        for (int i = 0; i < 1_000_000; i++) edges.add(rnd.nextDouble() * 260);
        for (double v : edges) assertEquals(Math.clamp(Math.round(v), 0, 255), Preprocessing.toByte(v), 0f, "at " + v);
    }
}
