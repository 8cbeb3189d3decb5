package dev.mnv3.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.core.weights.SafeTensors;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * JPEGs through libjpeg-turbo's TurboJPEG ({@code -Dmnv3.jpeg=turbo}) decode to exactly the
 * pixels PIL gives ({@code Image.open(f).convert("RGB")}, libjpeg-turbo too), for every chroma
 * subsampling, greyscale, progressive and odd sizes; damage and failures are reported as
 * javax.imageio's are; the property chooses the decoder. The TurboJPEG cases are skipped where
 * libturbojpeg.so.0 is not installed (.ci/run and tools/env.sh install it).
 */
class TurboJpegTest {
    @TempDir
    static Path dir;
    static Path expected;

    /** name: what PIL writes it with. The picture: gradients, edges and noise, so that chroma and DCT errors show. */
    private static final String SCRIPT = String.join("\n",
            "import sys; sys.path.insert(0, sys.argv[2])",
            "import numpy as np, torch, safetensors_io",
            "from PIL import Image",
            "d = sys.argv[1]",
            "def picture(w, h):",
            "    rng = np.random.default_rng(w * 1000 + h)",
            "    yy, xx = np.mgrid[0:h, 0:w]",
            "    r = (xx * 255 // max(w - 1, 1)); g = (yy * 255 // max(h - 1, 1)); b = ((xx // 7 + yy // 5) % 2) * 200",
            "    img = np.stack([r, g, b], -1) + rng.integers(-30, 30, (h, w, 3))",
            "    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), 'RGB')",
            "cases = {",
            "  '420.jpg': (203, 117, dict(quality=90, subsampling=2)),",
            "  '422.jpg': (203, 117, dict(quality=90, subsampling=1)),",
            "  '444.jpg': (203, 117, dict(quality=90, subsampling=0)),",
            "  '420_q50.jpg': (203, 117, dict(quality=50, subsampling=2)),",
            "  'progressive.jpg': (203, 117, dict(quality=85, progressive=True)),",
            "  'progressive444.jpg': (97, 61, dict(quality=85, progressive=True, subsampling=0)),",
            "  'odd_1x1.jpg': (1, 1, dict(quality=90)),",
            "  'odd_17x9.jpg': (17, 9, dict(quality=90)),",
            "  'odd_9x301.jpg': (9, 301, dict(quality=75, subsampling=1)),",
            "  'photo_640x480.jpg': (640, 480, dict(quality=85)),",
            "}",
            "grey = lambda w, h: picture(w, h).convert('L')",
            "cases['grey.jpg'] = (203, 117, dict(quality=90), grey)",
            "cases['grey_progressive.jpg'] = (203, 117, dict(quality=90, progressive=True), grey)",
            "out = {}",
            "for name, (w, h, opts, *make) in cases.items():",
            "    img = (make[0] if make else picture)(w, h)",
            "    img.save(d + '/' + name, **opts)",
            "    img.save(d + '/other_' + name, **dict(opts, quality=opts['quality'] - 30))", // the guard's neighbour
            "    for f in [name, 'other_' + name]:",
            "        out[f] = torch.from_numpy(np.asarray(Image.open(d + '/' + f).convert('RGB'), dtype=np.float32).copy())",
            "safetensors_io.save(d + '/expected.safetensors', out)");

    @BeforeAll
    static void writeJpegsWithPil() throws Exception {
        TorchReference.runScript(SCRIPT, dir.toString(), TorchReference.repositoryRoot().resolve("tools/reference").toString());
        expected = dir.resolve("expected.safetensors");
    }

    /** Runs {@code work} with -Dmnv3.jpeg={@code choice}, restoring the property after (tests run one at a time). */
    static <T> T with(String choice, Callable<T> work) throws Exception {
        String before = System.getProperty(TurboJpeg.PROPERTY);
        System.setProperty(TurboJpeg.PROPERTY, choice);
        try {
            return work.call();
        } finally {
            if (before == null) System.clearProperty(TurboJpeg.PROPERTY);
            else System.setProperty(TurboJpeg.PROPERTY, before);
        }
    }

    static void assumeTurboJpeg() {
        assumeTrue(TurboJpeg.available(), () -> "libjpeg-turbo is not installed: " + TurboJpeg.unavailableReason());
    }

    private static int[] pil(String name) throws IOException {
        try (SafeTensors st = SafeTensors.open(expected)) {
            float[] f = st.readFloats(name);
            int[] rgb = new int[f.length / 3];
            for (int i = 0; i < rgb.length; i++) rgb[i] = (int) f[3 * i] << 16 | (int) f[3 * i + 1] << 8 | (int) f[3 * i + 2];
            return rgb;
        }
    }

    /** The largest difference of one channel between two images' pixels. */
    private static int maxDifference(int[] a, int[] b) {
        int worst = 0;
        for (int i = 0; i < a.length; i++) {
            for (int s = 0; s < 24; s += 8) worst = Math.max(worst, Math.abs((a[i] >> s & 0xff) - (b[i] >> s & 0xff)));
        }
        return worst;
    }

    @ParameterizedTest
    @ValueSource(strings = {"420.jpg", "422.jpg", "444.jpg", "420_q50.jpg", "progressive.jpg", "progressive444.jpg", "odd_1x1.jpg",
            "odd_17x9.jpg", "odd_9x301.jpg", "photo_640x480.jpg", "grey.jpg", "grey_progressive.jpg"})
    void decodesExactlyAsPil(String name) throws Exception {
        assumeTurboJpeg();
        Path file = dir.resolve(name);
        RgbImage ours = with("turbo", () -> ImageDecoder.decode(ImageSource.of(file)));
        int[] theirs = pil(name);
        assertEquals(theirs.length, ours.rgb().length, name);
        assertArrayEquals(theirs, ours.rgb(), name + ": pixels differ from PIL's, by up to " + maxDifference(theirs, ours.rgb()));
        RgbImage imageIo = with("imageio", () -> ImageDecoder.decode(ImageSource.of(file)));
        // the comparison can fail: the same picture at a lower quality decodes to other pixels, and the pixels vary
        int moved = maxDifference(pil("other_" + name), ours.rgb());
        System.out.printf("%s %dx%d: TurboJPEG exactly PIL's pixels; javax.imageio within %d levels of them; the guard moves "
                + "them by %d%n", name, ours.width(), ours.height(), maxDifference(theirs, imageIo.rgb()), moved);
        if (ours.rgb().length > 1) {
            assertTrue(moved >= 4, name + ": another encoding moves the pixels by only " + moved);
            assertTrue(Arrays.stream(ours.rgb()).distinct().count() > Math.min(ours.rgb().length / 4, 64), name + ": the pixels vary");
        }
    }

    /** The pipeline's three ways in (a crop, the whole image, a raw U8 image) take TurboJPEG's pixels alike. */
    @Test
    void preprocessAndRawDecodeUseTheSamePixels() throws Exception {
        assumeTurboJpeg();
        Path file = dir.resolve("photo_640x480.jpg");
        Preprocessing prep = Preprocessing.imagenet();
        float[] turbo = new float[3 * 224 * 224], imageIo = new float[turbo.length];
        assertEquals(List.of(), with("turbo", () -> ImageDecoder.preprocess(ImageSource.of(file), prep, turbo, 0)));
        assertEquals(List.of(), with("imageio", () -> ImageDecoder.preprocess(ImageSource.of(file), prep, imageIo, 0)));
        float[] fromPil = prep.apply(new RgbImage(640, 480, pil("photo_640x480.jpg"))).data();
        assertArrayEquals(fromPil, turbo, "the crop of PIL's pixels");
        assertArrayEquals(fromPil, imageIo, "javax.imageio's libjpeg 6b decodes this photo as libjpeg-turbo does");
        float[] other = prep.apply(new RgbImage(640, 480, pil("other_photo_640x480.jpg"))).data();
        assertFalse(Arrays.equals(other, turbo), "the comparison can fail: another encoding of the photo crops otherwise");

        ImageDecoder.RawImage raw = with("turbo", () -> ImageDecoder.decodeRaw(ImageSource.of(file))).orElseThrow();
        int[] rgb = pil("photo_640x480.jpg");
        for (int i = 0; i < rgb.length; i++) {
            assertEquals(rgb[i], (raw.rgb()[3 * i] & 0xff) << 16 | (raw.rgb()[3 * i + 1] & 0xff) << 8 | raw.rgb()[3 * i + 2] & 0xff);
        }
    }

    /** A cut or corrupted JPEG is damage or one line naming the file, through either decoder; the fuzz inputs too. */
    @ParameterizedTest
    @ValueSource(strings = {"turbo", "imageio"})
    void damagedJpegsAreReportedAsBefore(String choice) throws Exception {
        if (choice.equals("turbo")) assumeTurboJpeg();
        byte[] whole = Files.readAllBytes(dir.resolve("photo_640x480.jpg"));
        List<byte[]> inputs = new ArrayList<>();
        for (int cut : new int[] {3, 20, 200, whole.length / 3, whole.length * 2 / 3, whole.length - 2}) {
            inputs.add(Arrays.copyOf(whole, cut));
        }
        byte[] flipped = whole.clone();
        for (int i = whole.length / 2; i < whole.length / 2 + 400; i += 7) flipped[i] ^= 0x5a;
        inputs.add(flipped);
        for (String f : new String[] {"rgb.jpg", "progressive.jpg", "cmyk.jpg"}) {
            try (InputStream in = getClass().getResourceAsStream("ImageDecoderFuzzTestInputs/decodesOrNamesTheFile/" + f)) {
                inputs.add(in.readAllBytes());
            }
        }
        int damaged = 0;
        Preprocessing prep = new Preprocessing(32, 24);
        for (int i = 0; i < inputs.size(); i++) {
            Path file = Files.write(dir.resolve("input" + i + ".jpg"), inputs.get(i));
            float[] crop = new float[3 * 24 * 24];
            try {
                List<String> damage = with(choice, () -> ImageDecoder.preprocess(ImageSource.of(file), prep, crop, 0));
                if (!damage.isEmpty()) damaged++;
                for (float v : crop) assertTrue(Float.isFinite(v) && Math.abs(v) < 3, "normalized values, got " + v);
                // javax.imageio does not notice a missing end marker (input 5); TurboJPEG does
                if (i < 7 && (i != 5 || choice.equals("turbo"))) assertFalse(damage.isEmpty(), "input " + i + " decoded as intact");
                if (!damage.isEmpty()) {
                    ImageDecodeException e = assertThrows(ImageDecodeException.class,
                            () -> with(choice, () -> ImageDecoder.decode(ImageSource.of(file))));
                    assertTrue(e.getMessage().startsWith(file + " is damaged: "), e.getMessage());
                }
            } catch (ImageDecodeException e) {
                assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().lines().count() == 1, e.getMessage());
            }
        }
        assertTrue(damaged >= 3, "cut JPEGs decode, damaged: " + damaged);
    }

    /**
     * Which decoder ran shows in a JPEG cut just before its end marker: TurboJPEG finishes the
     * decode and warns ("Premature end of JPEG file"), javax.imageio stops after the last row.
     */
    @Test
    void thePropertyChoosesTheDecoder() throws Exception {
        byte[] whole = Files.readAllBytes(dir.resolve("420.jpg"));
        Path noEnd = Files.write(dir.resolve("no-end-marker.jpg"), Arrays.copyOf(whole, whole.length - 2));
        Preprocessing prep = new Preprocessing(32, 24);
        float[] crop = new float[3 * 24 * 24];
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> with("fast", () -> ImageDecoder.preprocess(ImageSource.of(noEnd), prep, crop, 0)));
        assertEquals("-Dmnv3.jpeg must be auto, turbo or imageio, got 'fast'", bad.getMessage());
        assertEquals(List.of(), with("imageio", () -> ImageDecoder.preprocess(ImageSource.of(noEnd), prep, crop, 0)));
        List<String> auto = with("auto", () -> ImageDecoder.preprocess(ImageSource.of(noEnd), prep, crop, 0));
        if (TurboJpeg.available()) {
            assertEquals(List.of("Premature end of JPEG file"), auto);
            assertEquals(auto, with("turbo", () -> ImageDecoder.preprocess(ImageSource.of(noEnd), prep, crop, 0)));
        } else {
            assertEquals(List.of(), auto);
            IllegalArgumentException absent = assertThrows(IllegalArgumentException.class,
                    () -> with("turbo", () -> ImageDecoder.preprocess(ImageSource.of(noEnd), prep, crop, 0)));
            assertTrue(absent.getMessage().startsWith("-Dmnv3.jpeg=turbo, but libjpeg-turbo's TurboJPEG library cannot be used"));
        }
    }

    @Test
    void findsWhichJpegsHoldTheirCoefficients() throws IOException {
        assertFalse(TurboJpeg.buffersCoefficients(Files.readAllBytes(dir.resolve("420.jpg"))), "baseline, one scan");
        assertTrue(TurboJpeg.buffersCoefficients(Files.readAllBytes(dir.resolve("progressive.jpg"))));
        assertTrue(TurboJpeg.buffersCoefficients(Files.readAllBytes(dir.resolve("grey_progressive.jpg"))));
        assertFalse(TurboJpeg.buffersCoefficients(Files.readAllBytes(dir.resolve("grey.jpg"))));
        assertTrue(TurboJpeg.buffersCoefficients(new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff}), "cannot tell: assume so");
    }
}
