package dev.mnv3.core.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;

/**
 * The rows of a decoded image as 0xRRGGBB, converted as PIL's {@code Image.convert("RGB")}
 * converts them, which is what torchvision's loader does: the stored samples as they are, with
 * no colour management. (Java's own {@code getRGB} treats greyscale as linear light and
 * brightens it, grey 128 to 188, and manages CMYK through a profile: both disagree with PIL.)
 */
interface RgbRows {
    /** Row {@code y} of the image into {@code rgb}, one int per pixel. */
    void row(int y, int[] rgb);

    static RgbRows of(BufferedImage img) {
        ColorModel cm = img.getColorModel();
        WritableRaster raster = img.getRaster();
        int w = img.getWidth(), bands = raster.getNumBands();
        if (cm instanceof IndexColorModel palette) {
            int[] index = new int[w];
            return (y, rgb) -> {
                raster.getSamples(0, y, w, 1, 0, index);
                for (int x = 0; x < w; x++) rgb[x] = palette.getRGB(index[x]) & 0xffffff;
            };
        }
        int bits = cm.getComponentSize(0), space = cm.getColorSpace().getType();
        boolean bytesOrShorts = bits == 8 || bits == 16;
        int[] px = new int[w * bands];
        if (bytesOrShorts && space == ColorSpace.TYPE_GRAY) {
            // PIL opens 16-bit grey as 32-bit integers and clips them to 255; with alpha it keeps the high byte
            boolean clip = bits == 16 && bands == 1;
            int shift = bits == 16 && !clip ? 8 : 0;
            return (y, rgb) -> {
                raster.getPixels(0, y, w, 1, px);
                for (int x = 0; x < w; x++) {
                    int g = clip ? Math.min(px[x], 255) : px[x * bands] >> shift;
                    rgb[x] = g * 0x010101;
                }
            };
        }
        if (bits == 8 && space == ColorSpace.TYPE_RGB && cm.getNumColorComponents() == 3
                && raster.getDataBuffer() instanceof DataBufferByte buffer && buffer.getNumBanks() == 1
                && raster.getSampleModel() instanceof ComponentSampleModel sm) {
            // what JPEGs decode to (3-byte BGR): read the bytes in place, as getPixels would but without its per-sample calls
            byte[] data = buffer.getData();
            int[] band = sm.getBandOffsets();
            int stride = sm.getPixelStride(), scan = sm.getScanlineStride();
            int origin = buffer.getOffset() - raster.getSampleModelTranslateY() * scan - raster.getSampleModelTranslateX() * stride;
            int r = band[0], g = band[1], b = band[2];
            return (y, rgb) -> {
                for (int x = 0, p = origin + y * scan; x < w; x++, p += stride) {
                    rgb[x] = (data[p + r] & 0xff) << 16 | (data[p + g] & 0xff) << 8 | (data[p + b] & 0xff);
                }
            };
        }
        if (bytesOrShorts && space == ColorSpace.TYPE_RGB && cm.getNumColorComponents() == 3) {
            int shift = bits - 8; // 16-bit: the high byte, as PIL reads it
            return (y, rgb) -> {
                raster.getPixels(0, y, w, 1, px);
                for (int x = 0, i = 0; x < w; x++, i += bands) {
                    rgb[x] = (px[i] >> shift) << 16 | (px[i + 1] >> shift) << 8 | (px[i + 2] >> shift);
                }
            };
        }
        if (bits == 8 && space == ColorSpace.TYPE_CMYK && bands == 4) {
            return (y, rgb) -> {
                raster.getPixels(0, y, w, 1, px);
                for (int x = 0, i = 0; x < w; x++, i += 4) {
                    int keep = 255 - px[i + 3];
                    rgb[x] = cmyk(px[i], keep) << 16 | cmyk(px[i + 1], keep) << 8 | cmyk(px[i + 2], keep);
                }
            };
        }
        // other layouts (5-6-5 BMPs, ...): the colour model's own conversion, exact for sRGB
        return (y, rgb) -> {
            img.getRGB(0, y, w, 1, rgb, 0, w);
            for (int x = 0; x < w; x++) rgb[x] &= 0xffffff;
        };
    }

    /** PIL's CMYK to RGB: (255 - K) less the ink's share of it, with PIL's rounded division by 255. */
    private static int cmyk(int ink, int keep) {
        int t = ink * keep + 128;
        return Math.clamp(keep - (((t >> 8) + t) >> 8), 0, 255);
    }
}
