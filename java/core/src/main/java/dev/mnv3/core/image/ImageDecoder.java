package dev.mnv3.core.image;

import dev.mnv3.core.io.InputFiles;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.MemoryLimitException;
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
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;

/**
 * The image decoder front end (javax.imageio: JPEG, PNG, BMP, GIF, and WebP through TwelveMonkeys'
 * plugin), core's only use of java.desktop; JPEGs go to libjpeg-turbo first where it is installed
 * ({@link TurboJpeg}, which decodes the whole image, as PIL does, and hands back to javax.imageio
 * what it does not take: {@code -Dmnv3.jpeg=auto|turbo|imageio} chooses). Before decoding it
 * refuses images over {@link #MAX_PIXELS}; javax.imageio decodes only the
 * pixels the center crop depends on, subsampled when even those would exceed the decode budget;
 * it converts colours as PIL does ({@link RgbRows}); and it reports damage: a PNG chunk that
 * fails its CRC or a truncated file, and every warning of the decoder (corrupt JPEG data).
 * Decodes running at once share {@link DecodeMemory}, so any number of threads may call it.
 *
 * <p>Failures are {@link ImageDecodeException}s, one line naming the image; a file that cannot
 * be read is the usual {@link java.nio.file.FileSystemException}.
 */
public final class ImageDecoder {
    /** PIL refuses images over 179 million pixels as decompression bombs; we allow 1 Gi, as subsampling bounds the memory. */
    public static final long MAX_PIXELS = 1L << 30;
    /** Files up to this size are read whole before decoding; a 64th of the decode budget, so that parallel reads stay small. */
    private static final long IN_MEMORY_BYTES = Math.min(8L << 20, DecodeMemory.capacity() / 64);

    private ImageDecoder() {
    }

    /**
     * Decodes {@code source} and writes its preprocessed crop (3 x crop x crop floats, CHW) to
     * {@code dst} at {@code offset}. Returns what is damaged in the image (empty when it is
     * intact): its pixels were decoded regardless, as far as they could be.
     */
    public static List<String> preprocess(ImageSource source, Preprocessing prep, float[] dst, int offset) throws IOException {
        List<String> damage = new ArrayList<>();
        ImageSource encoded = inMemory(source);
        try (TurboJpeg.Jpeg jpeg = TurboJpeg.open(encoded)) {
            PixelSource pixels = jpeg == null ? null : jpeg.decode(preprocessWorkBytes(prep, jpeg.width(), jpeg.height()), damage);
            if (pixels != null) {
                prep.applyInto(pixels, dst, offset);
                return damage;
            }
        }
        withReader(encoded, damage, reader -> {
            Source image = new Source(source, reader, prep);
            try (DecodeMemory.Hold held = DecodeMemory.hold(image.preprocessBytes(prep))) {
                prep.applyInto(image, dst, offset);
            }
        });
        return damage;
    }

    /** The whole image at full resolution, converted as PIL converts it; a damaged image is an error. */
    public static RgbImage decode(ImageSource source) throws IOException {
        List<String> damage = new ArrayList<>();
        RgbImage[] out = new RgbImage[1];
        ImageSource encoded = inMemory(source);
        try (TurboJpeg.Jpeg jpeg = TurboJpeg.open(encoded)) {
            TurboJpeg.Pixels pixels = jpeg == null ? null : jpeg.decode(4L * jpeg.width() * jpeg.height(), damage);
            if (pixels != null) {
                int w = pixels.width();
                int[] rgb = new int[MemoryBudget.arrayLength((long) w * pixels.height(), source.name() + " decoded")];
                pixels.read(0, 0, w, pixels.height(), (y, row) -> System.arraycopy(row, 0, rgb, y * w, w));
                out[0] = new RgbImage(w, pixels.height(), rgb);
            }
        }
        if (out[0] == null) withReader(encoded, damage, reader -> {
            Source image = new Source(source, reader, null);
            int w = image.width(), h = image.height();
            int[] rgb = new int[MemoryBudget.arrayLength((long) w * h, source.name() + " decoded")];
            try (DecodeMemory.Hold held = DecodeMemory.hold(image.wholeBytes() + 4L * w * h)) {
                image.read(0, 0, w, h, (y, row) -> System.arraycopy(row, 0, rgb, y * w, w));
            }
            out[0] = new RgbImage(w, h, rgb);
        });
        if (!damage.isEmpty()) throw new ImageDecodeException(source.name() + " is damaged: " + damage.getFirst());
        return out[0];
    }

    /** A whole image as 8-bit RGB, row-major HWC: a slice of a U8 [N, H, W, 3] batch. */
    public record RawImage(int width, int height, byte[] rgb, List<String> damage) {
    }

    /**
     * The whole image at full resolution as 8-bit RGB (colours as PIL converts them), with its
     * damage; empty when it would not fit the decode budget whole (then {@link #preprocess}
     * decodes the region the crop needs, subsampled if need be).
     */
    public static Optional<RawImage> decodeRaw(ImageSource source) throws IOException {
        List<String> damage = new ArrayList<>();
        List<RawImage> out = new ArrayList<>(1);
        ImageSource encoded = inMemory(source);
        try (TurboJpeg.Jpeg jpeg = TurboJpeg.open(encoded)) {
            if (jpeg != null) {
                long bytes = 3L * jpeg.width() * jpeg.height();
                if (jpeg.decodeBytes() + bytes > DecodeMemory.capacity()) return Optional.empty();
                TurboJpeg.Pixels pixels = jpeg.decode(bytes, damage);
                if (pixels != null) {
                    byte[] hwc = new byte[MemoryBudget.arrayLength(bytes, source.name() + " decoded")];
                    pixels.copyTo(hwc);
                    return Optional.of(new RawImage(pixels.width(), pixels.height(), hwc, damage));
                }
            }
        }
        withReader(encoded, damage, reader -> {
            Source image = new Source(source, reader, null);
            int w = image.width(), h = image.height();
            long bytes = 3L * w * h;
            if (image.wholeBytes() + bytes > DecodeMemory.capacity()) return;
            byte[] hwc = new byte[MemoryBudget.arrayLength(bytes, source.name() + " decoded")];
            try (DecodeMemory.Hold held = DecodeMemory.hold(image.wholeBytes() + bytes)) {
                image.read(0, 0, w, h, (y, row) -> {
                    for (int x = 0, p = y * w * 3; x < w; x++, p += 3) {
                        int c = row[x];
                        hwc[p] = (byte) (c >> 16);
                        hwc[p + 1] = (byte) (c >> 8);
                        hwc[p + 2] = (byte) c;
                    }
                });
            }
            out.add(new RawImage(w, h, hwc, damage));
        });
        return out.stream().findFirst();
    }

    /** The largest decoded region held at once, by one decode or by all together: an eighth of the heap, at most 512 MiB. */
    public static long decodeBudget() {
        return DecodeMemory.capacity();
    }

    private interface ReaderUse {
        void accept(ImageReader reader) throws IOException;
    }

    /**
     * Opens a reader on the image, collecting damage, and turns every decoder failure into one line naming the image.
     * The readers for the image's format are tried in turn ({@link #readers}): a later one only when an earlier one
     * failed, with its damage, and the first one's failure is the one reported when all fail.
     */
    private static void withReader(ImageSource source, List<String> damage, ReaderUse use) throws IOException {
        String name = source.name();
        String problem = pngProblem(source);
        if (problem != null) damage.add(problem);
        List<ImageReader> readers = readers(source);
        if (readers.isEmpty()) throw new ImageDecodeException("cannot decode image " + name + ": not a JPEG, PNG, BMP or GIF file");
        int intact = damage.size();
        ImageDecodeException first = null;
        try {
            for (ImageReader reader : readers) {
                try (ImageInputStream in = open(source)) {
                    reader.setInput(in, true, false);
                    reader.addIIOReadWarningListener((r, warning) -> damage.add(oneLine(warning)));
                    use.accept(reader);
                    return;
                } catch (ImageDecodeException | MemoryLimitException | java.io.InterruptedIOException e) {
                    throw e;
                } catch (IOException | RuntimeException | OutOfMemoryError | StackOverflowError e) {
                    // javax.imageio's decoders fail in every way on bad input: IIOException, IndexOutOfBounds, ...
                    List<String> seen = damage.subList(intact, damage.size());
                    String why = seen.isEmpty() ? describe(e) : seen.getFirst() + "; " + describe(e);
                    if (first == null) {
                        first = new ImageDecodeException("cannot decode image " + name + ": damaged or unsupported (" + why + ")", e);
                    }
                    seen.clear();
                }
            }
            throw first;
        } finally {
            readers.forEach(ImageReader::dispose);
        }
    }

    /**
     * The readers for the image's format, the JDK's own first. TwelveMonkeys' plugins (WebP; JPEG) register ahead of
     * the JDK's, but its JPEG reader converts CMYK and YCCK through ICC profiles, which PIL (and so torchvision's
     * loader) does not do, and which {@link RgbRows} does as PIL does from the JDK reader's raw samples. So a JPEG goes
     * to the JDK's reader and to TwelveMonkeys' only when the JDK's refuses it (e.g. a damaged ICC profile chunk).
     */
    private static List<ImageReader> readers(ImageSource source) throws IOException {
        List<ImageReader> readers = new ArrayList<>();
        try (ImageInputStream in = open(source)) {
            if (in == null) return readers;
            ImageIO.getImageReaders(in).forEachRemaining(readers::add);
        }
        Module jdk = ImageIO.class.getModule();
        readers.sort(java.util.Comparator.comparing(r -> r.getOriginatingProvider() == null
                || r.getOriginatingProvider().getClass().getModule() != jdk));
        return readers;
    }

    /**
     * A file read whole when it is small: one read instead of the many small ones javax.imageio's
     * file stream makes (a millisecond less per photo), and what TurboJPEG decodes from.
     */
    private static ImageSource inMemory(ImageSource source) throws IOException {
        if (source instanceof ImageSource.File f && InputFiles.requireRegularFile(f.path()).size() <= IN_MEMORY_BYTES) {
            return ImageSource.of(source.name(), Files.readAllBytes(f.path()));
        }
        return source;
    }

    /** Refuses an image without pixels or over {@link #MAX_PIXELS}, naming it. */
    static void requireDecodable(String name, int width, int height) throws ImageDecodeException {
        long pixels = (long) width * height;
        if (width < 1 || height < 1) throw new ImageDecodeException("cannot decode image " + name + ": it has no pixels");
        if (pixels > MAX_PIXELS) {
            throw new ImageDecodeException(String.format("image %s is %dx%d, %,d pixels: more than the %,d mnv3 decodes", name,
                    width, height, pixels, MAX_PIXELS));
        }
    }

    /** What preprocessing holds beside the decoded pixels: row buffers and the horizontal pass's result. */
    private static long preprocessWorkBytes(Preprocessing prep, int width, int height) {
        Preprocessing.Region r = prep.sourceRegion(width, height);
        return 8L * (r.x1() - r.x0()) * 4 + 3L * (r.y1() - r.y0()) * prep.crop() * Float.BYTES;
    }

    private static ImageInputStream open(ImageSource source) throws IOException {
        return switch (source) {
            case ImageSource.File f -> ImageIO.createImageInputStream(f.path().toFile());
            case ImageSource.Bytes b -> new ByteArrayImageStream(b.data());
        };
    }

    /** What is wrong with a PNG's chunks (javax.imageio checks neither CRCs nor the end), or null. */
    private static String pngProblem(ImageSource source) throws IOException {
        return switch (source) {
            case ImageSource.File f -> {
                byte[] head;
                try (InputStream in = Files.newInputStream(f.path())) {
                    head = in.readNBytes(8);
                }
                yield PngChunks.isPng(head) ? PngChunks.problem(f.path()) : null;
            }
            case ImageSource.Bytes b -> PngChunks.isPng(b.data()) ? PngChunks.problem(new ByteArrayInputStream(b.data())) : null;
        };
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : oneLine(m);
    }

    /** A decoder's text on one line: messages and damage lists name one problem per line (some warnings span two). */
    private static String oneLine(String text) {
        return text.strip().replaceAll("\\s+", " ");
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

    /**
     * An image's pixels, decoded on demand: a region at a time, every {@code step}-th pixel in
     * each direction (1 unless the region the crop needs would not fit the budget).
     */
    private static final class Source implements PixelSource {
        private final String name;
        private final ImageReader reader;
        private final int fullWidth, fullHeight, step, bytesPerPixel;
        /** A JPEG that javax.imageio decodes to 3-byte BGR: read into {@link #rgbImage} instead. */
        private final boolean rgbOrder;

        Source(ImageSource source, ImageReader reader, Preprocessing prep) throws IOException {
            this.name = source.name();
            this.reader = reader;
            fullWidth = reader.getWidth(0);
            fullHeight = reader.getHeight(0);
            requireDecodable(name, fullWidth, fullHeight);
            ImageTypeSpecifier type = imageType(reader);
            bytesPerPixel = bytesPerPixel(type);
            rgbOrder = type != null && type.getBufferedImageType() == BufferedImage.TYPE_3BYTE_BGR
                    && "jpeg".equalsIgnoreCase(reader.getFormatName());
            step = prep == null ? 1 : step(prep.sourceRegion(fullWidth, fullHeight));
        }

        /** The smallest subsampling step that brings the region the crop needs within the decode budget. */
        private int step(Preprocessing.Region r) {
            long budget = decodeBudget();
            int s = 1;
            while (Math.ceilDiv(r.x1() - r.x0(), s) * (long) Math.ceilDiv(r.y1() - r.y0(), s) * bytesPerPixel > budget) s++;
            return s;
        }

        /** What decoding the region the crop needs holds at once: the decoded pixels, row buffers, the resampled rows. */
        long preprocessBytes(Preprocessing prep) {
            return prep.sourceRegion(width(), height()).pixels() * bytesPerPixel + preprocessWorkBytes(prep, width(), height());
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
            int sx = x0 * step, sy = y0 * step;
            Rectangle region = new Rectangle(sx, sy, Math.min((x1 - x0) * step, fullWidth - sx),
                    Math.min((y1 - y0) * step, fullHeight - sy));
            MemoryBudget.reserve((long) (x1 - x0) * (y1 - y0) * bytesPerPixel, "decoding " + name);
            ImageReadParam param = reader.getDefaultReadParam();
            param.setSourceRegion(region);
            if (step > 1) param.setSourceSubsampling(step, step, 0, 0);
            if (rgbOrder) param.setDestination(rgbImage(x1 - x0, y1 - y0));
            BufferedImage img = reader.read(0, param);
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
    }
}
