package dev.mnv3.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.core.weights.SafeTensors;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every colour model the decoder meets, against what torchvision's loader sees: PIL's
 * {@code Image.open(f).convert("RGB")}, to within one level. PIL writes the files (and a YCCK
 * JPEG by relabelling its CMYK JPEG's Adobe transform), so they are what photos in the wild are.
 */
class ColourModelParityTest {
    @TempDir
    static Path dir;
    static Path expected;

    private static final String SCRIPT = String.join("\n",
            "import sys; sys.path.insert(0, sys.argv[2])",
            "import numpy as np, torch, safetensors_io",
            "from PIL import Image",
            "d = sys.argv[1]; r = np.random.default_rng(7)",
            "h, w = 48, 64",
            "yy, xx = np.mgrid[0:h, 0:w]",
            "grey = ((xx * 4 + yy * 2) % 256).astype(np.uint8)",
            "rgb = np.stack([grey, (255 - grey), ((xx * 7) % 256).astype(np.uint8)], -1)",
            "Image.fromarray(grey, 'L').save(d + '/grey8.png')",
            "Image.fromarray(grey, 'L').save(d + '/grey8.jpg', quality=95)",
            "Image.fromarray((grey.astype(np.int32) * 2 + 20).astype(np.uint16)).save(d + '/grey16.png')",
            "Image.fromarray(np.stack([grey, 255 - grey], -1), 'LA').save(d + '/grey_alpha.png')",
            "Image.fromarray(rgb, 'RGB').quantize(64).save(d + '/palette.png')",
            "Image.fromarray(rgb, 'RGB').quantize(64).save(d + '/palette.gif')",
            "Image.fromarray(np.dstack([rgb, grey]), 'RGBA').save(d + '/rgba.png')",
            "Image.fromarray(rgb, 'RGB').save(d + '/rgb.jpg', quality=95)",
            "Image.fromarray(rgb, 'RGB').save(d + '/rgb.bmp')",
            "Image.fromarray(rgb, 'RGB').convert('CMYK').save(d + '/cmyk.jpg', quality=95)",
            "cmyk = Image.fromarray(np.stack([grey, 255 - grey, (xx * 3 % 256).astype(np.uint8), (yy * 5 % 256).astype(np.uint8)], -1), 'CMYK')",
            "cmyk.save(d + '/cmyk_ink.jpg', quality=95)",
            "b = bytearray(open(d + '/cmyk_ink.jpg', 'rb').read()); i = b.index(b'Adobe'); b[i + 11] = 2",
            "open(d + '/ycck.jpg', 'wb').write(bytes(b))",
            "Image.fromarray(rgb, 'RGB').save(d + '/lossless.webp', lossless=True)",
            "Image.fromarray(np.dstack([rgb, grey]), 'RGBA').save(d + '/alpha.webp', lossless=True)",
            "smooth = np.stack([xx * 4, yy * 5, 128 + 60 * np.sin(xx / 9) * np.cos(yy / 7)], -1).astype(np.uint8)",
            "Image.fromarray(smooth, 'RGB').save(d + '/lossy.webp', quality=90)",
            // an ICC profile chunk numbered 2 of 1: the JDK's JPEG reader refuses the file, TwelveMonkeys' reads it
            "Image.fromarray(rgb, 'RGB').save(d + '/bad_icc.jpg', quality=95, icc_profile=b'not a profile' * 40)",
            "b = bytearray(open(d + '/bad_icc.jpg', 'rb').read()); i = b.index(b'ICC_PROFILE\\0'); b[i + 12] = 2; b[i + 13] = 1",
            "open(d + '/bad_icc.jpg', 'wb').write(bytes(b))",
            "out = {}",
            "for f in ['grey8.png', 'grey8.jpg', 'grey16.png', 'grey_alpha.png', 'palette.png', 'palette.gif', 'rgba.png',",
            "          'rgb.jpg', 'rgb.bmp', 'cmyk.jpg', 'cmyk_ink.jpg', 'ycck.jpg', 'lossless.webp', 'alpha.webp', 'lossy.webp',",
            "          'bad_icc.jpg']:",
            "    im = Image.open(d + '/' + f)",
            "    out[f] = torch.from_numpy(np.asarray(im.convert('RGB'), dtype=np.float32).copy())",
            "    out[f + '.mode'] = torch.zeros(len(im.mode))",
            "safetensors_io.save(d + '/expected.safetensors', out)");

    @BeforeAll
    static void writeImagesWithPil() throws Exception {
        TorchReference.runScript(SCRIPT, dir.toString(), TorchReference.repositoryRoot().resolve("tools/reference").toString());
        expected = dir.resolve("expected.safetensors");
    }

    @ParameterizedTest
    @ValueSource(strings = {"grey8.png", "grey8.jpg", "grey16.png", "grey_alpha.png", "palette.png", "palette.gif", "rgba.png",
            "rgb.jpg", "rgb.bmp", "cmyk.jpg", "cmyk_ink.jpg", "ycck.jpg", "lossless.webp", "alpha.webp"})
    void decodesAsPilConvertsToRgb(String name) throws Exception {
        Path file = dir.resolve(name);
        RgbImage ours = ImageDecoder.decode(ImageSource.of(file));
        float[] pil = pilPixels(name, ours);
        int worst = 0, lo = 255, hi = 0;
        for (int i = 0; i < ours.rgb().length; i++) {
            for (int c = 0; c < 3; c++) {
                int v = (ours.rgb()[i] >> (16 - 8 * c)) & 0xff, theirs = (int) pil[3 * i + c];
                worst = Math.max(worst, Math.abs(v - theirs));
                lo = Math.min(lo, theirs);
                hi = Math.max(hi, theirs);
            }
        }
        assertTrue(worst <= 1, name + ": " + worst + " levels from PIL");
        // the comparison can fail: the image spans most levels, so a wrong conversion shows
        assertTrue(hi - lo > 100, name + " spans only " + lo + ".." + hi);
    }

    /**
     * Lossy WebP: TwelveMonkeys' VP8 decoder is not libwebp's (chroma upsampling and rounding differ), so its pixels
     * are a few levels from PIL's on average; a wrong colour conversion or channel order would be tens of levels off.
     */
    @Test
    void lossyWebpDecodesWithinAFewLevelsOfPil() throws Exception {
        RgbImage ours = ImageDecoder.decode(ImageSource.of(dir.resolve("lossy.webp")));
        float[] pil = pilPixels("lossy.webp", ours);
        double sum = 0, spread = 0;
        for (int i = 0; i < ours.rgb().length; i++) {
            for (int c = 0; c < 3; c++) {
                int v = (ours.rgb()[i] >> (16 - 8 * c)) & 0xff;
                sum += Math.abs(v - pil[3 * i + c]);
                spread += Math.abs(pil[3 * i + c] - pil[3 * ((i + ours.width() * 7 + 11) % ours.rgb().length) + c]);
            }
        }
        double mean = sum / pil.length, other = spread / pil.length;
        assertTrue(mean <= 6, "lossy.webp: " + mean + " levels from PIL on average");
        assertTrue(other > 5 * 6, "another part of the image is only " + other + " levels away: the check could not fail");
    }

    /**
     * A JPEG whose ICC profile chunk is misnumbered: the JDK's reader refuses it, TwelveMonkeys' reads it and warns.
     * On javax.imageio a warning is damage: decode refuses the image naming it, and the pixels that preprocessing gets
     * are PIL's. libjpeg-turbo, PIL's own decoder, ignores the chunk and decodes it intact, to PIL's exact pixels.
     */
    @Test
    void aJpegTheJdkRefusesIsReadByTwelveMonkeysAndReportedAsDamaged() throws Exception {
        ImageSource source = ImageSource.of(dir.resolve("bad_icc.jpg"));
        TurboJpegTest.with("imageio", () -> {
            var e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(source));
            assertTrue(e.getMessage().startsWith(source.name() + " is damaged: ") && e.getMessage().contains("ICC_PROFILE"),
                    e.getMessage());
            ImageDecoder.RawImage raw = ImageDecoder.decodeRaw(source).orElseThrow();
            assertTrue(!raw.damage().isEmpty() && raw.damage().stream().allMatch(d -> d.contains("ICC_PROFILE")), raw.damage().toString());
            int worst = worstFromPil(raw);
            assertTrue(worst <= 1, "bad_icc.jpg: " + worst + " levels from PIL");
            return null;
        });
        if (TurboJpeg.available()) {
            TurboJpegTest.with("turbo", () -> {
                ImageDecoder.RawImage raw = ImageDecoder.decodeRaw(source).orElseThrow();
                assertTrue(raw.damage().isEmpty(), raw.damage().toString());
                assertEquals(0, worstFromPil(raw), "bad_icc.jpg through libjpeg-turbo");
                return null;
            });
        }
    }

    /** The largest difference, in levels, between a decoded image and PIL's decode of bad_icc.jpg. */
    private int worstFromPil(ImageDecoder.RawImage raw) throws Exception {
        RgbImage ours = new RgbImage(raw.width(), raw.height(), new int[raw.width() * raw.height()]);
        float[] pil = pilPixels("bad_icc.jpg", ours);
        int worst = 0;
        for (int i = 0; i < pil.length; i++) worst = Math.max(worst, Math.abs((raw.rgb()[i] & 0xff) - (int) pil[i]));
        return worst;
    }

    /** The JDK's own decode: ImageIO.read would take TwelveMonkeys' JPEG reader, registered ahead of it. */
    private static BufferedImage jdkReader(Path file) throws Exception {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            while (readers.hasNext()) {
                ImageReader r = readers.next();
                if (r.getOriginatingProvider().getClass().getModule() != ImageIO.class.getModule()) continue;
                r.setInput(in);
                return r.read(0);
            }
        }
        throw new AssertionError("no JDK reader for " + file);
    }

    /** PIL's RGB pixels of {@code name}, checked to be as many as ours. */
    private static float[] pilPixels(String name, RgbImage ours) throws Exception {
        float[] pil;
        try (SafeTensors st = SafeTensors.open(expected)) {
            pil = st.readFloats(name);
            assertEquals(3L * ours.width() * ours.height(), pil.length, name);
        }
        return pil;
    }

    /** What the decoder fixed: Java's own conversion brightens greyscale (linear grey) and manages CMYK through a profile. */
    @ParameterizedTest
    @ValueSource(strings = {"grey8.png", "grey8.jpg", "cmyk_ink.jpg"})
    void javasOwnConversionWouldFailThisTest(String name) throws Exception {
        BufferedImage img = jdkReader(dir.resolve(name));
        RgbImage ours = ImageDecoder.decode(ImageSource.of(dir.resolve(name)));
        int worst = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int a = img.getRGB(x, y), b = ours.rgb()[y * ours.width() + x];
                for (int s = 0; s < 24; s += 8) worst = Math.max(worst, Math.abs((a >> s & 0xff) - (b >> s & 0xff)));
            }
        }
        assertTrue(worst > 20, name + ": getRGB is within " + worst + " levels");
    }
}
