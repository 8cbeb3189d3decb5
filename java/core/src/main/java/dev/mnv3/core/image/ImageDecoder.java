package dev.mnv3.core.image;

import dev.mnv3.core.Arguments;
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
 * checks the image's size from its header against the {@link ImageLimits} (by default PIL's
 * 179 million pixels), and it stops a decode that runs past their time limit; javax.imageio
 * ({@link ImageIoReaders}) decodes only the pixels the center crop depends on, subsampled when
 * even those would exceed the decode budget ({@link ImageIoPixels}); it converts colours as PIL
 * does ({@link RgbRows}); and it reports damage: a PNG chunk that fails its CRC or a truncated
 * file, and every warning of the decoder (corrupt JPEG data). Decodes running at once share
 * {@link DecodeMemory}, so any number of threads may call it.
 *
 * <p>Failures are {@link ImageDecodeException}s, one line naming the image; a file that cannot
 * be read is the usual {@link java.nio.file.FileSystemException}.
 */
public final class ImageDecoder {
    /** Files up to this size are read whole before decoding; a 64th of the decode budget, so that parallel reads stay small. */
    private static final long IN_MEMORY_BYTES = Math.min(8L << 20, DecodeMemory.capacity() / 64);

    private ImageDecoder() {
    }

    /** {@link #preprocess(ImageSource, Preprocessing, float[], int, ImageLimits)} within {@link ImageLimits#DEFAULTS}. */
    public static List<String> preprocess(ImageSource source, Preprocessing prep, float[] dst, int offset) throws IOException {
        return preprocess(source, prep, dst, offset, ImageLimits.DEFAULTS);
    }

    /**
     * Decodes {@code source} within {@code limits} and writes its preprocessed crop (3 x crop x crop
     * floats, CHW) to {@code dst} at {@code offset}. Returns what is damaged in the image (empty
     * when it is intact): its pixels were decoded regardless, as far as they could be.
     */
    public static List<String> preprocess(ImageSource source, Preprocessing prep, float[] dst, int offset, ImageLimits limits)
            throws IOException {
        Arguments.notNull(source, "source", ImageSource.WHAT);
        Arguments.notNull(prep, "prep", Preprocessing.WHAT);
        Arguments.notNull(limits, "limits", ImageLimits.WHAT);
        prep.checkDestination(dst, offset); // the caller's array, before the image is read: its fault is not the image's
        List<String> damage = new ArrayList<>();
        DecodeDeadline deadline = limits.deadline(source.name());
        ImageSource encoded = inMemory(source);
        try (TurboJpeg.Jpeg jpeg = TurboJpeg.open(encoded, limits)) {
            PixelSource pixels = jpeg == null ? null : jpeg.decode(preprocessWorkBytes(prep, jpeg.width(), jpeg.height()), damage);
            if (pixels != null) {
                deadline.check();
                prep.applyInto(pixels, dst, offset);
                return damage;
            }
        }
        ImageIoReaders.withReader(encoded, damage, reader -> {
            ImageIoPixels image = new ImageIoPixels(source, reader, prep, limits, deadline);
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
        ImageLimits limits = ImageLimits.DEFAULTS.withMaxDecodedPixels(Long.MAX_VALUE); // full resolution: never scaled
        try (TurboJpeg.Jpeg jpeg = TurboJpeg.open(encoded, limits)) {
            TurboJpeg.Pixels pixels = jpeg == null ? null : jpeg.decode(4L * jpeg.width() * jpeg.height(), damage);
            if (pixels != null) {
                int w = pixels.width();
                int[] rgb = new int[MemoryBudget.arrayLength((long) w * pixels.height(), source.name() + " decoded")];
                pixels.read(0, 0, w, pixels.height(), (y, row) -> System.arraycopy(row, 0, rgb, y * w, w));
                out[0] = new RgbImage(w, pixels.height(), rgb);
            }
        }
        if (out[0] == null) ImageIoReaders.withReader(encoded, damage, reader -> {
            ImageIoPixels image = new ImageIoPixels(source, reader, null, limits, limits.deadline(source.name()));
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

    /** {@link #decodeRaw(ImageSource, ImageLimits)} within {@link ImageLimits#DEFAULTS}. */
    public static Optional<RawImage> decodeRaw(ImageSource source) throws IOException {
        return decodeRaw(source, ImageLimits.DEFAULTS);
    }

    /**
     * The whole image at full resolution as 8-bit RGB (colours as PIL converts them), with its
     * damage; empty when it would not fit the decode budget whole, or would be decoded scaled down
     * (then {@link #preprocess} decodes the region the crop needs, subsampled if need be).
     */
    public static Optional<RawImage> decodeRaw(ImageSource source, ImageLimits limits) throws IOException {
        List<String> damage = new ArrayList<>();
        List<RawImage> out = new ArrayList<>(1);
        DecodeDeadline deadline = limits.deadline(source.name());
        ImageSource encoded = inMemory(source);
        try (TurboJpeg.Jpeg jpeg = TurboJpeg.open(encoded, limits)) {
            if (jpeg != null) {
                long bytes = 3L * jpeg.width() * jpeg.height();
                if (jpeg.scale() > 1 || jpeg.decodeBytes() + bytes > DecodeMemory.capacity()) return Optional.empty();
                TurboJpeg.Pixels pixels = jpeg.decode(bytes, damage);
                if (pixels != null) {
                    deadline.check();
                    byte[] hwc = new byte[MemoryBudget.arrayLength(bytes, source.name() + " decoded")];
                    pixels.copyTo(hwc);
                    return Optional.of(new RawImage(pixels.width(), pixels.height(), hwc, damage));
                }
            }
        }
        ImageIoReaders.withReader(encoded, damage, reader -> {
            ImageIoPixels image = new ImageIoPixels(source, reader, null, limits, deadline);
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
        Arguments.notNull(source, "source", ImageSource.WHAT);
        if (source instanceof ImageSource.File f && InputFiles.requireRegularFile(f.path()).size() <= IN_MEMORY_BYTES) {
            return ImageSource.of(source.name(), Files.readAllBytes(f.path()));
        }
        return source;
    }

    /** What preprocessing holds beside the decoded pixels: row buffers and the horizontal pass's result. */
    static long preprocessWorkBytes(Preprocessing prep, int width, int height) {
        Preprocessing.Region r = prep.sourceRegion(width, height);
        return 8L * (r.x1() - r.x0()) * 4 + 3L * (r.y1() - r.y0()) * prep.crop() * Float.BYTES;
    }
}
