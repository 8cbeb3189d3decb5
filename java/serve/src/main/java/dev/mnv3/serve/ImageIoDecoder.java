package dev.mnv3.serve;

import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.image.RgbImage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes with javax.imageio (JPEG, PNG, BMP, GIF) from memory, as {@code mnv3 classify} decodes
 * files (the same pixels as 0xRRGGBB, then {@link Preprocessing#apply}), and refuses an image
 * whose header declares more than {@link #MAX_PIXELS} before decoding it, so that one request
 * cannot exhaust the server's heap.
 */
public final class ImageIoDecoder implements ImageDecoder {
    /** 64 megapixels: beyond any camera image a classifier is sent, far below what would exhaust a server. */
    public static final long MAX_PIXELS = 64L << 20;

    @Override
    public float[] decode(byte[] encoded, Preprocessing preprocessing) {
        BufferedImage img;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw ServeError.badRequest("not an image format the server decodes (JPEG, PNG, BMP or GIF)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0), h = reader.getHeight(0);
                if (w * h > MAX_PIXELS) {
                    throw ServeError.badRequest("the image is " + w + "x" + h + ", over the limit of " + MAX_PIXELS + " pixels");
                }
                img = reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof ServeError se) throw se;
            // decoders report damage as IOException, and some as runtime exceptions from deep inside
            throw ServeError.badRequest("cannot decode the image: " + e.getMessage());
        }
        int w = img.getWidth(), h = img.getHeight();
        int[] rgb = img.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < rgb.length; i++) rgb[i] &= 0xffffff;
        return preprocessing.apply(new RgbImage(w, h, rgb)).data();
    }
}
