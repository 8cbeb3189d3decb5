package dev.mnv3.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stage gives what one thread decoding one image at a time gives, image for image and in
 * order, whatever the threads, batch size and form; failures stay with their image.
 */
class PreprocessingStageTest {
    private static final Preprocessing PREP = new Preprocessing(40, 32);

    @TempDir
    static Path dir;
    /** JPEGs and PNGs of several sizes, a damaged JPEG, a file that is no image and one that does not exist. */
    static List<ImageSource> mixed;
    static Path cut, notAnImage, missing;

    @BeforeAll
    static void images() throws IOException {
        mixed = new ArrayList<>();
        Random rnd = new Random(17);
        for (int i = 0; i < 9; i++) {
            int w = 30 + rnd.nextInt(90), h = 30 + rnd.nextInt(90);
            mixed.add(ImageSource.of(write(photo(w, h, rnd), i % 3 == 0 ? "png" : "jpg", "img" + i)));
        }
        byte[] jpeg = Files.readAllBytes(write(photo(64, 48, rnd), "jpg", "whole"));
        cut = Files.write(dir.resolve("cut.jpg"), Arrays.copyOf(jpeg, jpeg.length * 2 / 3));
        notAnImage = Files.writeString(dir.resolve("notes.jpg"), "not an image");
        missing = dir.resolve("missing.jpg");
        mixed.add(3, ImageSource.of(cut));
        mixed.add(6, ImageSource.of(notAnImage));
        mixed.add(8, ImageSource.of(missing));
    }

    static BufferedImage photo(int w, int h, Random rnd) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (x * 255 / w) << 16 | (y * 255 / h) << 8 | rnd.nextInt(64) + ((x + y) & 0x7f));
            }
        }
        return img;
    }

    static Path write(BufferedImage img, String format, String name) throws IOException {
        Path p = dir.resolve(name + "." + format);
        ImageIO.write(img, format, p.toFile());
        return p;
    }

    /** One image alone on this thread: the crop, or the exception. */
    private static Object alone(ImageSource source) {
        float[] crop = new float[3 * PREP.crop() * PREP.crop()];
        try {
            ImageDecoder.preprocess(source, PREP, crop, 0);
            return crop;
        } catch (IOException | RuntimeException e) {
            return e;
        }
    }

    @Test
    void batchesEqualOneImageAtATimeInOrderWithFailuresNamed() {
        List<Object> expected = mixed.stream().map(PreprocessingStageTest::alone).toList();
        int per = 3 * PREP.crop() * PREP.crop();
        for (int threads : new int[] {1, 3}) {
            for (int batch : new int[] {1, 4, 100}) {
                try (PreprocessingStage stage = new PreprocessingStage(PREP, threads)) {
                    int seen = 0;
                    for (Iterator<PreprocessingStage.Batch> it = stage.batches(mixed, batch, PreprocessingStage.Form.PREPROCESSED);
                            it.hasNext(); ) {
                        PreprocessingStage.Batch b = it.next();
                        assertEquals(seen, b.first());
                        int rows = 0;
                        for (PreprocessingStage.Outcome o : b.images()) {
                            assertEquals(mixed.get(seen), o.source(), "order kept");
                            Object e = expected.get(seen++);
                            if (e instanceof Exception ex) {
                                assertFalse(o.decoded());
                                assertEquals(-1, o.row());
                                assertEquals(ex.getClass(), o.error().getClass());
                                assertEquals(ex.getMessage(), o.error().getMessage());
                                continue;
                            }
                            assertEquals(rows++, o.row(), "decoded images fill the rows in order");
                            float[] row = Arrays.copyOfRange(b.input().data(), o.row() * per, (o.row() + 1) * per);
                            assertArrayEquals((float[]) e, row, o.source().name());
                        }
                        assertEquals(rows, b.decodedCount());
                    }
                    assertEquals(mixed.size(), seen);
                }
            }
        }
        // the comparison can fail: the images differ from one another
        assertFalse(Arrays.equals((float[]) expected.get(0), (float[]) expected.get(1)));
    }

    @Test
    void failuresKeepTheirNameAndKind() {
        try (PreprocessingStage stage = new PreprocessingStage(PREP, 2)) {
            PreprocessingStage.Batch b = stage.preprocess(List.of(ImageSource.of(cut), ImageSource.of(notAnImage),
                    ImageSource.of(missing)));
            List<PreprocessingStage.Outcome> o = b.images();
            assertTrue(o.get(0).decoded() && !o.get(0).damage().isEmpty(), "a truncated JPEG decodes, damaged: " + o.get(0));
            assertInstanceOf(ImageDecodeException.class, o.get(1).error());
            assertTrue(o.get(1).error().getMessage().contains(notAnImage.toString()), o.get(1).error().getMessage());
            assertInstanceOf(NoSuchFileException.class, o.get(2).error());
            assertEquals(missing.toString(), ((NoSuchFileException) o.get(2).error()).getFile());
            assertEquals(1, b.decodedCount());
        }
    }

    @Test
    void imagesInMemoryDecodeAsTheirFilesDo() throws IOException {
        List<ImageSource> files = mixed.stream().filter(s -> alone(s) instanceof float[]).toList();
        List<ImageSource> bytes = new ArrayList<>();
        for (ImageSource s : files) bytes.add(ImageSource.of(s.name(), Files.readAllBytes(((ImageSource.File) s).path())));
        try (PreprocessingStage stage = new PreprocessingStage(PREP, 2)) {
            assertArrayEquals(stage.preprocess(files).input().data(), stage.preprocess(bytes).input().data());
        }
    }

    @Test
    void rawBatchesOfOneSizeAreU8AndPreprocessAsTheFloatPathDoes() throws IOException {
        Random rnd = new Random(5);
        List<ImageSource> sameSize = new ArrayList<>();
        for (int i = 0; i < 5; i++) sameSize.add(ImageSource.of(write(photo(71, 53, rnd), i % 2 == 0 ? "png" : "jpg", "same" + i)));
        sameSize.add(2, ImageSource.of(notAnImage));
        try (PreprocessingStage stage = new PreprocessingStage(PREP, 3)) {
            PreprocessingStage.Batch raw = stage.decode(sameSize, PreprocessingStage.Form.RAW_WHEN_SAME_SIZE);
            assertEquals(DType.U8, raw.input().dtype());
            assertArrayEquals(new int[] {5, 53, 71, 3}, raw.input().shape());
            assertEquals(-1, raw.images().get(2).row());
            assertEquals(3, raw.images().get(4).row());
            Tensor floats = stage.preprocess(sameSize).input();
            assertArrayEquals(floats.data(), PREP.apply(raw.input()).data(), "host preprocessing of the U8 batch");
            assertArrayEquals(floats.data(), stage.preprocess(raw.input()).data(), "the same on the pool");

            // of several sizes: float crops, as PREPROCESSED gives them
            PreprocessingStage.Batch mixedRaw = stage.decode(mixed, PreprocessingStage.Form.RAW_WHEN_SAME_SIZE);
            assertEquals(DType.F32, mixedRaw.input().dtype());
            PreprocessingStage.Batch expected = stage.preprocess(mixed);
            assertArrayEquals(expected.input().data(), mixedRaw.input().data());
            for (int i = 0; i < mixed.size(); i++) {
                assertEquals(expected.images().get(i).row(), mixedRaw.images().get(i).row());
                assertEquals(expected.images().get(i).damage(), mixedRaw.images().get(i).damage());
            }
        }
    }

    @Test
    void aBatchWhereNothingDecodesHasNoInput() {
        try (PreprocessingStage stage = new PreprocessingStage(PREP, 1)) {
            PreprocessingStage.Batch b = stage.preprocess(List.of(ImageSource.of(notAnImage)));
            assertNull(b.input());
            assertNull(stage.decode(List.of(ImageSource.of(missing)), PreprocessingStage.Form.RAW_WHEN_SAME_SIZE).input());
        }
    }

    @Test
    void decodingRunsOneBatchAheadOfTheCaller() {
        List<ImageSource> ten = mixed.subList(0, 10);
        try (PreprocessingStage stage = new PreprocessingStage(PREP, 2)) {
            PreprocessingStage.Batches it = (PreprocessingStage.Batches) stage.batches(ten, 3, PreprocessingStage.Form.PREPROCESSED);
            assertEquals(0, it.submitted(), "nothing decodes before it is asked for");
            List<Integer> submitted = new ArrayList<>();
            while (it.hasNext()) {
                it.next();
                submitted.add(it.submitted());
            }
            // batches of 3, 3, 3, 1: while the caller has batch k, batch k + 1 (and no other) decodes
            assertEquals(List.of(6, 9, 10, 10), submitted);
        }
    }
}
