package dev.mnv3.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.testing.ZeroPngs;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** What decoding one image may cost: pixels from the header, scaled JPEG decoding, and the time limit. */
class ImageLimitsTest {
    private static final Preprocessing PREP = new Preprocessing(72, 64);

    private static byte[] greyPng(int w, int h, int rows) throws IOException {
        return ZeroPngs.grey(w, h, rows);
    }

    private static byte[] photo(int w, int h, String format) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        SplittableRandom rnd = new SplittableRandom(w * 31L + h);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) img.setRGB(x, y, (x * 255 / w) << 16 | (y * 255 / h) << 8 | (128 + rnd.nextInt(64)));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, format, out);
        return out.toByteArray();
    }

    private static float[] crop(byte[] encoded, ImageLimits limits) throws IOException {
        return crop(ImageSource.of("img", encoded), limits);
    }

    private static float[] crop(ImageSource image, ImageLimits limits) throws IOException {
        float[] out = new float[3 * PREP.crop() * PREP.crop()];
        ImageDecoder.preprocess(image, PREP, out, 0, limits);
        return out;
    }

    @Test
    void theDefaultIsPilsLimitAndAnImageOverItIsRefusedFromItsHeader() throws IOException {
        assertEquals(178_956_970L, ImageLimits.DEFAULTS.maxPixels());
        byte[] bomb = greyPng(20000, 20000, 1); // one row in the file: anything decoded would be damage, not this error
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> crop(bomb, ImageLimits.DEFAULTS));
        assertEquals("image img is 20000x20000, 400,000,000 pixels: more than the 178,956,970 mnv3 decodes", e.getMessage());
        byte[] small = greyPng(300, 200, 200);
        crop(small, ImageLimits.DEFAULTS);
        e = assertThrows(ImageDecodeException.class, () -> crop(small, ImageLimits.DEFAULTS.withMaxPixels(59_999)));
        assertTrue(e.getMessage().contains("60,000 pixels: more than the 59,999"), e.getMessage());
    }

    /** A PNG cannot be decoded scaled down: over the decoded-pixel limit it is refused, under it decoded as ever. */
    @Test
    void aPngOverTheDecodedPixelLimitIsRefused() throws IOException {
        byte[] png = photo(300, 240, "png");
        float[] whole = crop(png, ImageLimits.DEFAULTS);
        ImageDecodeException e = assertThrows(ImageDecodeException.class,
                () -> crop(png, ImageLimits.DEFAULTS.withMaxDecodedPixels(300 * 240 - 1)));
        assertTrue(e.getMessage().contains("decoding it would cost more than the 71,999 pixels allowed"), e.getMessage());
        assertEquals(0.0, TensorDiff.of(crop(png, ImageLimits.DEFAULTS.withMaxDecodedPixels(300 * 240)), whole).maxAbs());
    }

    /**
     * A JPEG over the decoded-pixel limit is decoded scaled down in the DCT by libjpeg-turbo: by the
     * least factor that fits, and its crop stays close to the full decode's (not equal: fewer pixels).
     */
    @Test
    void aJpegOverTheDecodedPixelLimitIsDecodedScaledDown() throws Exception {
        TurboJpegTest.assumeTurboJpeg();
        byte[] jpeg = photo(640, 480, "jpg");
        ImageLimits limits = ImageLimits.DEFAULTS.withMaxDecodedPixels(200 * 150); // 320x240 and 160x120 are over, 80x60 fits
        try (TurboJpeg.Jpeg j = TurboJpegTest.with("turbo", () -> TurboJpeg.open(ImageSource.of("img", jpeg), limits))) {
            assertEquals(4, j.scale());
            assertEquals(160, j.width());
            assertEquals(120, j.height());
        }
        float[] whole = TurboJpegTest.with("turbo", () -> crop(jpeg, ImageLimits.DEFAULTS));
        float[] scaled = TurboJpegTest.with("turbo", () -> crop(jpeg, limits));
        double err = TensorDiff.of(scaled, whole).relL2();
        assertTrue(err > 0 && err < 0.05, "scaled down by 4, the crop moves by rel L2 " + err);
        // javax.imageio cannot scale in the DCT: refused
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> TurboJpegTest.with("imageio", () -> crop(jpeg, limits)));
        assertTrue(e.getMessage().contains("decoding it would cost more than the 30,000 pixels"), e.getMessage());
        // over the limit even at an eighth: refused
        ImageLimits tiny = ImageLimits.DEFAULTS.withMaxDecodedPixels(79 * 59);
        e = assertThrows(ImageDecodeException.class, () -> TurboJpegTest.with("turbo", () -> crop(jpeg, tiny)));
        assertTrue(e.getMessage().contains("decoding it would cost more than the 4,661 pixels"), e.getMessage());
    }

    /**
     * A decode past its time is refused naming the limit, and stopped as it goes rather than after:
     * with a limit of a twentieth of what the whole decode takes, the refusal comes well before.
     * The whole image is one read of javax.imageio's reader ({@link ImageDecoder#decodeRaw}), so
     * only aborting the reader stops it early.
     */
    @Test
    void aDecodePastItsTimeIsStoppedAndRefused() throws IOException {
        ImageSource png = ImageSource.of("img", ZeroPngs.of(5000, 5000, 5000, 2, 3, 4));
        ImageLimits none = ImageLimits.DEFAULTS;
        assertTrue(ImageDecoder.decodeRaw(png, none).isPresent()); // warm, and whole within the decode budget
        long start = System.nanoTime();
        ImageDecoder.decodeRaw(png, none);
        long whole = System.nanoTime() - start;
        ImageLimits limits = none.withDecodeTimeout(Duration.ofNanos(Math.max(1_000_000, whole / 20)));
        // the fastest of three tries: one try can lose its core to other work on a loaded machine, but a
        // decode stopped only after it finished can never beat half of the whole
        long stopped = Long.MAX_VALUE;
        for (int attempt = 0; attempt < 3; attempt++) {
            start = System.nanoTime();
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decodeRaw(png, limits));
            stopped = Math.min(stopped, System.nanoTime() - start);
            assertTrue(e.getMessage().startsWith("decoding image img took longer than the " + limits.decodeTimeout().toMillis() + " ms allowed"),
                    e.getMessage());
        }
        assertTrue(stopped < whole / 2, "stopped after " + stopped / 1e6 + " ms; the whole decode takes " + whole / 1e6 + " ms");
        // preprocessing checks it too, and the limit applies to each image anew: a small one decodes
        assertThrows(ImageDecodeException.class, () -> crop(png, limits));
        crop(greyPng(64, 64, 64), limits);
    }
}
