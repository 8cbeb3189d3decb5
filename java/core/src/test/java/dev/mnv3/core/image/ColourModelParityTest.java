package dev.mnv3.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.core.weights.SafeTensors;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
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
            "out = {}",
            "for f in ['grey8.png', 'grey8.jpg', 'grey16.png', 'grey_alpha.png', 'palette.png', 'palette.gif', 'rgba.png',",
            "          'rgb.jpg', 'rgb.bmp', 'cmyk.jpg', 'cmyk_ink.jpg', 'ycck.jpg']:",
            "    im = Image.open(d + '/' + f)",
            "    out[f] = torch.from_numpy(np.asarray(im.convert('RGB'), dtype=np.float32).copy())",
            "    out[f + '.mode'] = torch.zeros(len(im.mode))",
            "safetensors_io.save(d + '/expected.safetensors', out)");

    @BeforeAll
    static void writeImagesWithPil() throws Exception {
        Process p = new ProcessBuilder(TorchReference.python(), "-c", SCRIPT, dir.toString(),
                TorchReference.repositoryRoot().resolve("tools/reference").toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, log);
        expected = dir.resolve("expected.safetensors");
    }

    @ParameterizedTest
    @ValueSource(strings = {"grey8.png", "grey8.jpg", "grey16.png", "grey_alpha.png", "palette.png", "palette.gif", "rgba.png",
            "rgb.jpg", "rgb.bmp", "cmyk.jpg", "cmyk_ink.jpg", "ycck.jpg"})
    void decodesAsPilConvertsToRgb(String name) throws Exception {
        Path file = dir.resolve(name);
        RgbImage ours = ImageDecoder.decode(ImageSource.of(file));
        float[] pil;
        try (SafeTensors st = SafeTensors.open(expected)) {
            pil = st.readFloats(name);
            assertEquals(3L * ours.width() * ours.height(), pil.length, name);
        }
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

    /** What the decoder fixed: Java's own conversion brightens greyscale (linear grey) and manages CMYK through a profile. */
    @ParameterizedTest
    @ValueSource(strings = {"grey8.png", "grey8.jpg", "cmyk_ink.jpg"})
    void javasOwnConversionWouldFailThisTest(String name) throws Exception {
        BufferedImage img = ImageIO.read(dir.resolve(name).toFile());
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
