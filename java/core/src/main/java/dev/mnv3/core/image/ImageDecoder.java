package dev.mnv3.core.image;

import dev.mnv3.core.io.InputFiles;
import dev.mnv3.core.tensor.MemoryBudget;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The image decoder front end (javax.imageio: JPEG, PNG, BMP, GIF, and WebP through TwelveMonkeys'
 * plugin), core's only use of java.desktop; JPEGs go to libjpeg-turbo first where it is installed
 * ({@link TurboJpeg}, which decodes the whole image, as PIL does, and hands back to javax.imageio
 * what it does not take: {@code -Dmnv3.jpeg=auto|turbo|imageio} chooses). Before decoding it
 * refuses images over {@link #MAX_PIXELS}; javax.imageio ({@link ImageIoReaders}) decodes only
 * the pixels the center crop depends on, subsampled when even those would exceed the decode
 * budget ({@link ImageIoPixels}); it converts colours as PIL does ({@link RgbRows}); and it
 * reports damage: a PNG chunk that fails its CRC or a truncated file, and every warning of the
 * decoder (corrupt JPEG data). Decodes running at once share {@link DecodeMemory}, so any number
 * of threads may call it.
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
        ImageIoReaders.withReader(encoded, damage, reader -> {
            ImageIoPixels image = new ImageIoPixels(source, reader, prep);
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
        if (out[0] == null) ImageIoReaders.withReader(encoded, damage, reader -> {
            ImageIoPixels image = new ImageIoPixels(source, reader, null);
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
        ImageIoReaders.withReader(encoded, damage, reader -> {
            ImageIoPixels image = new ImageIoPixels(source, reader, null);
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
    static long preprocessWorkBytes(Preprocessing prep, int width, int height) {
        Preprocessing.Region r = prep.sourceRegion(width, height);
        return 8L * (r.x1() - r.x0()) * 4 + 3L * (r.y1() - r.y0()) * prep.crop() * Float.BYTES;
    }
}
