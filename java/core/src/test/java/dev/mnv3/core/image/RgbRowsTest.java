package dev.mnv3.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.awt.image.BufferedImage;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rows of sRGB images in every layout, including the in-place byte path JPEGs take and a
 * sub-image (a raster with an offset into its parent's bytes), against Java's own sRGB
 * conversion, which is exact for them.
 */
class RgbRowsTest {
    @ParameterizedTest
    @ValueSource(ints = {BufferedImage.TYPE_3BYTE_BGR, BufferedImage.TYPE_4BYTE_ABGR, BufferedImage.TYPE_INT_RGB,
            BufferedImage.TYPE_INT_ARGB})
    void rowsAreThePixelsInEveryLayout(int type) {
        BufferedImage img = new BufferedImage(37, 23, type);
        Random rnd = new Random(type);
        for (int y = 0; y < img.getHeight(); y++) for (int x = 0; x < img.getWidth(); x++) img.setRGB(x, y, 0xff000000 | rnd.nextInt());
        assertRowsMatch(img);
        assertRowsMatch(img.getSubimage(5, 7, 20, 11));
    }

    private static void assertRowsMatch(BufferedImage img) {
        RgbRows rows = RgbRows.of(img);
        int w = img.getWidth();
        int[] ours = new int[w], expected = new int[w];
        for (int y = 0; y < img.getHeight(); y++) {
            rows.row(y, ours);
            img.getRGB(0, y, w, 1, expected, 0, w);
            for (int x = 0; x < w; x++) expected[x] &= 0xffffff;
            assertArrayEquals(expected, ours, "row " + y);
        }
        // the comparison can fail: rows differ from one another
        int[] first = new int[w];
        rows.row(0, first);
        assertNotEquals(first[0], ours[0]);
    }
}
