package dev.mnv3.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * JPEGs decoded into R, G, B order have exactly the pixels of javax.imageio's own BGR decode;
 * so do TurboJPEG's (libjpeg-turbo decodes as javax.imageio's libjpeg 6b does), where installed.
 */
class ImageDecoderTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"written", "rgb.jpg", "progressive.jpg"})
    void jpegsDecodeToTheSamePixelsAsImageIoGivesThem(String name) throws Exception {
        Path file = dir.resolve("image.jpg");
        if (name.equals("written")) {
            BufferedImage img = new BufferedImage(203, 117, BufferedImage.TYPE_INT_RGB);
            Random rnd = new Random(3);
            for (int y = 0; y < img.getHeight(); y++) for (int x = 0; x < img.getWidth(); x++) img.setRGB(x, y, rnd.nextInt());
            ImageIO.write(img, "jpg", file.toFile());
        } else {
            try (InputStream in = getClass().getResourceAsStream("ImageDecoderFuzzTestInputs/decodesOrNamesTheFile/" + name)) {
                Files.write(file, in.readAllBytes());
            }
        }
        BufferedImage theirs = ImageIO.read(file.toFile());
        assertEquals(BufferedImage.TYPE_3BYTE_BGR, theirs.getType(), "the case the RGB-order destination replaces");
        for (String choice : TurboJpeg.available() ? new String[] {"imageio", "turbo"} : new String[] {"imageio"}) {
            RgbImage ours = TurboJpegTest.with(choice, () -> ImageDecoder.decode(ImageSource.of(file)));
            assertSamePixels(theirs, ours);
        }
    }

    private static void assertSamePixels(BufferedImage theirs, RgbImage ours) {
        assertEquals(theirs.getWidth(), ours.width());
        assertEquals(theirs.getHeight(), ours.height());
        int distinct = 0, first = ours.rgb()[0];
        for (int y = 0; y < ours.height(); y++) {
            for (int x = 0; x < ours.width(); x++) {
                int p = ours.rgb()[y * ours.width() + x];
                assertEquals(theirs.getRGB(x, y) & 0xffffff, p, "pixel " + x + "," + y);
                if (p != first) distinct++;
            }
        }
        assertTrue(distinct > ours.width(), "the comparison can fail: the pixels vary");
    }
}
