package dev.mnv3.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mnv3.core.tensor.MemoryLimitException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Any bytes given as an image file (or as bytes in memory: the same result) either decode to a finite, normalized crop (perhaps with the
 * damage named), or fail with one line naming the file: never another exception from inside
 * javax.imageio, a hang or an OutOfMemoryError. Runs its saved inputs in every build; fuzzes
 * with JAZZER_FUZZ=1 (see docs/robustness.md).
 */
class ImageDecoderFuzzTest {
    private static final Preprocessing PREP = new Preprocessing(32, 24); // small crops: more inputs per second
    private static Path file;

    @BeforeAll
    static void tempFile() throws IOException {
        file = Files.createTempFile("mnv3-fuzz", ".img");
    }

    @AfterAll
    static void removeTempFile() throws IOException {
        Files.deleteIfExists(file);
    }

    @FuzzTest(maxDuration = "30s")
    void decodesOrNamesTheFile(byte[] image) throws IOException {
        Files.write(file, image);
        float[] crop = new float[3 * 24 * 24], fromMemory = new float[crop.length];
        List<String> damage;
        try {
            damage = ImageDecoder.preprocess(ImageSource.of(file), PREP, crop, 0);
        } catch (ImageDecodeException e) {
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            assertTrue(e.getMessage().lines().count() == 1, e.getMessage());
            ImageDecodeException same = assertThrows(ImageDecodeException.class,
                    () -> ImageDecoder.preprocess(ImageSource.of(file.toString(), image), PREP, fromMemory, 0));
            assertEquals(e.getMessage(), same.getMessage());
            return;
        } catch (MemoryLimitException e) {
            return;
        }
        for (float v : crop) assertTrue(Float.isFinite(v) && Math.abs(v) < 3, "normalized values, got " + v);
        assertEquals(damage, ImageDecoder.preprocess(ImageSource.of(file.toString(), image), PREP, fromMemory, 0));
        assertArrayEquals(crop, fromMemory);
    }
}
