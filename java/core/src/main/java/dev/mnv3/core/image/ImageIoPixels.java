package dev.mnv3.core.image;

import dev.mnv3.core.tensor.MemoryBudget;
import java.awt.Rectangle;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.SampleModel;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;

/**
 * An image's pixels as a javax.imageio reader decodes them, on demand: a region at a time, every
 * {@code step}-th pixel in each direction (1 unless the region the crop needs would not fit the
 * decode budget), its colours converted as PIL converts them ({@link RgbRows}).
 */
final class ImageIoPixels implements PixelSource {
    private final String name;
    private final ImageReader reader;
    private final DecodeDeadline deadline;
    private final int fullWidth, fullHeight, step, bytesPerPixel;
    /** A GIF's or animated WebP's first frame placed on a larger canvas, which PIL's image is (null: the image is the frame). */
    private final FrameCanvas screen;
    /** A JPEG that javax.imageio decodes to 3-byte BGR: read into {@link #rgbImage} instead. */
    private final boolean rgbOrder;

    /**
     * The image {@code reader} is set on, subsampled for {@code prep}'s crop if need be (null: never
     * subsampled); refused when {@code limits} do not allow decoding it, and stopped at {@code deadline}.
     */
    ImageIoPixels(ImageSource source, ImageReader reader, Preprocessing prep, ImageLimits limits, DecodeDeadline deadline)
            throws IOException {
        this.name = source.name();
        this.reader = reader;
        this.deadline = deadline;
        screen = FrameCanvas.of(reader, source);
        fullWidth = screen != null ? screen.width() : reader.getWidth(0);
        fullHeight = screen != null ? screen.height() : reader.getHeight(0);
        // these decoders read every row (and every column) up to the region's end: the cost is the whole image's
        limits.requireDecodableWhole(name, fullWidth, fullHeight);
        ImageTypeSpecifier type = imageType(reader);
        bytesPerPixel = bytesPerPixel(type);
        rgbOrder = type != null && type.getBufferedImageType() == BufferedImage.TYPE_3BYTE_BGR
                && "jpeg".equalsIgnoreCase(reader.getFormatName());
        step = prep == null ? 1 : step(prep.sourceRegion(fullWidth, fullHeight));
    }

    /** The smallest subsampling step that brings the region the crop needs within the decode budget. */
    private int step(Preprocessing.Region r) {
        long budget = ImageDecoder.decodeBudget();
        int s = 1;
        while (Math.ceilDiv(r.x1() - r.x0(), s) * (long) Math.ceilDiv(r.y1() - r.y0(), s) * bytesPerPixel > budget) s++;
        return s;
    }

    /** What decoding the region the crop needs holds at once: the decoded pixels, row buffers, the resampled rows. */
    long preprocessBytes(Preprocessing prep) {
        return prep.sourceRegion(width(), height()).pixels() * bytesPerPixel
                + ImageDecoder.preprocessWorkBytes(prep, width(), height());
    }

    /** The decoded pixels of the whole image. */
    long wholeBytes() {
        return (long) fullWidth * fullHeight * bytesPerPixel;
    }

    @Override
    public int width() {
        return Math.ceilDiv(fullWidth, step);
    }

    @Override
    public int height() {
        return Math.ceilDiv(fullHeight, step);
    }

    @Override
    public void read(int x0, int y0, int x1, int y1, Rows rows) throws IOException {
        if (screen == null) {
            readFrame(x0, y0, x1, y1, 0, 0, rows);
            return;
        }
        // the screen's pixels outside the frame are its fill colour; the frame's part of the region is decoded
        int[] row = new int[x1 - x0];
        int fx0 = Math.max(x0, Math.ceilDiv(screen.x(), step)), fx1 = Math.min(x1, Math.ceilDiv(screen.x() + screen.frameWidth(), step));
        int fy0 = Math.max(y0, Math.ceilDiv(screen.y(), step)), fy1 = Math.min(y1, Math.ceilDiv(screen.y() + screen.frameHeight(), step));
        boolean overlaps = fx0 < fx1 && fy0 < fy1;
        java.util.Arrays.fill(row, screen.fill());
        for (int y = y0; y < (overlaps ? fy0 : y1); y++) rows.row(y, row);
        if (!overlaps) return;
        readFrame(fx0, fy0, fx1, fy1, screen.x(), screen.y(), (y, rgb) -> {
            java.util.Arrays.fill(row, screen.fill());
            System.arraycopy(rgb, 0, row, fx0 - x0, fx1 - fx0);
            rows.row(y, row);
        });
        java.util.Arrays.fill(row, screen.fill());
        for (int y = fy1; y < y1; y++) rows.row(y, row);
    }

    /** {@link #read} of a region within the frame that is at ({@code frameX}, {@code frameY}) on the image. */
    private void readFrame(int x0, int y0, int x1, int y1, int frameX, int frameY, Rows rows) throws IOException {
        int sx = x0 * step - frameX, sy = y0 * step - frameY;
        int frameWidth = screen == null ? fullWidth : screen.frameWidth(), frameHeight = screen == null ? fullHeight : screen.frameHeight();
        Rectangle region = new Rectangle(sx, sy, Math.min((x1 - x0) * step, frameWidth - sx),
                Math.min((y1 - y0) * step, frameHeight - sy));
        MemoryBudget.reserve((long) (x1 - x0) * (y1 - y0) * bytesPerPixel, "decoding " + name);
        ImageReadParam param = reader.getDefaultReadParam();
        param.setSourceRegion(region);
        if (step > 1) param.setSourceSubsampling(step, step, 0, 0);
        if (rgbOrder) param.setDestination(rgbImage(x1 - x0, y1 - y0));
        BufferedImage img = deadline.read(reader, () -> reader.read(0, param));
        if (img.getWidth() != x1 - x0 || img.getHeight() != y1 - y0) {
            throw new IOException("the decoder returned " + img.getWidth() + "x" + img.getHeight() + " pixels for a region of "
                    + (x1 - x0) + "x" + (y1 - y0));
        }
        RgbRows converter = RgbRows.of(img);
        int[] row = new int[x1 - x0];
        for (int y = 0; y < y1 - y0; y++) {
            converter.row(y, row);
            rows.row(y0 + y, row);
        }
    }

    /** The reader's raw image type, else its first, else null. */
    private static ImageTypeSpecifier imageType(ImageReader reader) {
        try {
            ImageTypeSpecifier type = reader.getRawImageType(0);
            if (type == null) {
                Iterator<ImageTypeSpecifier> types = reader.getImageTypes(0);
                type = types.hasNext() ? types.next() : null;
            }
            return type;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Decoded bytes per pixel of an image type (8 when it cannot say). */
    private static int bytesPerPixel(ImageTypeSpecifier type) {
        if (type == null) return 8;
        SampleModel sm = type.getSampleModel(1, 1);
        return Math.max(1, sm.getNumBands() * DataBuffer.getDataTypeSize(sm.getDataType()) / 8);
    }

    /**
     * An 8-bit sRGB image with its bytes in R, G, B order: the order javax.imageio's JPEG decoder
     * produces rows in. Its own choice, TYPE_3BYTE_BGR, costs a copy that swaps every pixel's
     * bytes sample by sample (a tenth of the decode); the pixels are the same.
     */
    private static BufferedImage rgbImage(int width, int height) {
        ColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false, Transparency.OPAQUE,
                DataBuffer.TYPE_BYTE);
        WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, width, height, 3 * width, 3,
                new int[] {0, 1, 2}, null);
        return new BufferedImage(cm, raster, false, null);
    }
}
