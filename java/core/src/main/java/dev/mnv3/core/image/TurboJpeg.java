package dev.mnv3.core.image;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Which JPEGs go to libjpeg-turbo's TurboJPEG library ({@link TurboJpegLibrary}), and what
 * becomes of its results. It is the library PIL decodes with, so a YCbCr, RGB or greyscale JPEG
 * decodes to PIL's pixels exactly, and its SIMD code decodes about twice as fast as javax.imageio's
 * libjpeg 6b. Optional: where the library is missing, where {@code -Dmnv3.jpeg=imageio} says so,
 * and for what it does not take here (CMYK and YCCK, a file too large to read whole, an image
 * whose full decode would not fit the decode budget, any error it calls fatal), {@link #open}
 * answers null and javax.imageio decodes the image as before.
 *
 * <p>Every decode has its own confined arena (the encoded bytes and the decoded pixels: freed on
 * close, on every path). Sizes come from the header and are checked against the
 * {@link ImageLimits} and the decode budget before anything is allocated. A JPEG over
 * {@link ImageLimits#maxDecodedPixels()} is decoded scaled down in the DCT (by 2, 4 or 8), which
 * costs about the scaled pixels.
 */
final class TurboJpeg {
    /** The system property that chooses the JPEG decoder: auto (the default), turbo or imageio. */
    static final String PROPERTY = "mnv3.jpeg";

    private static final System.Logger LOG = System.getLogger(TurboJpeg.class.getName());
    private static final AtomicBoolean ABSENCE_SAID = new AtomicBoolean();

    private TurboJpeg() {
    }

    /** Which decoder JPEGs go to. */
    enum Choice {
        /** TurboJPEG where the library loads, javax.imageio otherwise. */
        AUTO,
        /** TurboJPEG, and an error where the library does not load. */
        TURBO,
        /** javax.imageio alone. */
        IMAGEIO;

        static Choice current() {
            // which native library decodes (or none): the decoder's, not the model's, setting
            String v = System.getProperty(PROPERTY, "auto");
            return switch (v.strip().toLowerCase(Locale.ROOT)) {
                case "auto", "" -> AUTO;
                case "turbo" -> TURBO;
                case "imageio" -> IMAGEIO;
                default -> throw new IllegalArgumentException("-D" + PROPERTY + " must be auto, turbo or imageio, got '" + v + "'");
            };
        }
    }

    /** Whether the library is loaded and bound (looked for once per process). */
    static boolean available() {
        return TurboJpegLibrary.INSTANCE != null;
    }

    /** Why the library could not be used, or null when it can. */
    static String unavailableReason() {
        return TurboJpegLibrary.PROBLEM;
    }

    /** Whether JPEGs go to TurboJPEG now: the choice, and the library's presence. */
    private static boolean chosen() {
        Choice choice = Choice.current();
        if (choice == Choice.IMAGEIO) return false;
        if (available()) return true;
        if (choice == Choice.TURBO) {
            throw new IllegalArgumentException("-D" + PROPERTY + "=turbo, but libjpeg-turbo's TurboJPEG library cannot be used: "
                    + TurboJpegLibrary.PROBLEM + " (Debian, Ubuntu: apt-get install libturbojpeg0)");
        }
        if (!ABSENCE_SAID.getAndSet(true)) {
            LOG.log(System.Logger.Level.INFO, "no libjpeg-turbo (" + TurboJpegLibrary.PROBLEM + "): JPEGs decode through javax.imageio, "
                    + "about half as fast; install libturbojpeg0 (Debian, Ubuntu) for the fast path, -D" + PROPERTY
                    + "=imageio skips the search");
        }
        return false;
    }

    /**
     * The JPEG's header read by TurboJPEG, with its encoded bytes in native memory; null where
     * javax.imageio is to decode the image: not a JPEG, not chosen, a file that was not read
     * whole ({@link ImageSource.File}), colours TurboJPEG 2 does not convert (CMYK, YCCK), a
     * header it cannot read, or a full decode larger than the decode budget (javax.imageio then
     * decodes only the region the crop needs, subsampled if need be). An image over
     * {@link ImageLimits#maxPixels()}, or over {@link ImageLimits#maxDecodedPixels()} even scaled
     * down by 8, is refused.
     */
    static Jpeg open(ImageSource source, ImageLimits limits) throws IOException {
        if (!(source instanceof ImageSource.Bytes b) || !isJpeg(b.data()) || !chosen()) return null;
        byte[] encoded = b.data();
        if (encoded.length > DecodeMemory.capacity()) return null;
        Arena arena = Arena.ofConfined();
        try {
            MemorySegment data = arena.allocate(encoded.length);
            MemorySegment.copy(encoded, 0, data, ValueLayout.JAVA_BYTE, 0, encoded.length);
            TurboJpegLibrary.Header header = TurboJpegLibrary.INSTANCE.header(data, arena);
            int w = header.width(), h = header.height();
            if (!header.read() || w < 1 || h < 1 || !header.convertsToRgb()) {
                arena.close();
                return null;
            }
            limits.requireDecodable(source.name(), w, h);
            int scale = limits.jpegScale(w, h);
            if (scale == 0) limits.requireDecodableWhole(source.name(), w, h); // refuses it
            Jpeg jpeg = new Jpeg(arena, data, w, h, scale, header.components(), buffersCoefficients(encoded));
            if (jpeg.decodeBytes() > DecodeMemory.capacity()) {
                arena.close();
                return null;
            }
            return jpeg;
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** The JPEG signature: start of image, then a marker. */
    static boolean isJpeg(byte[] b) {
        return b.length >= 3 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8 && (b[2] & 0xff) == 0xff;
    }

    /**
     * Whether libjpeg holds the whole image's DCT coefficients while decoding (2 bytes a
     * coefficient): a progressive JPEG, or a sequential one in several scans. Reads the markers up
     * to the first scan; true where it cannot tell.
     */
    static boolean buffersCoefficients(byte[] b) {
        int p = 2, frameComponents = -1;
        while (p + 4 <= b.length) {
            if ((b[p] & 0xff) != 0xff) return true;
            int marker = b[p + 1] & 0xff;
            if (marker == 0xff) { // fill byte
                p++;
                continue;
            }
            if (marker == 0x01 || marker >= 0xd0 && marker <= 0xd8) { // markers without a length
                p += 2;
                continue;
            }
            if (marker == 0xda) return frameComponents < 0 || (b[p + 4] & 0xff) < frameComponents;
            boolean frame = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
            if (frame && marker != 0xc0 && marker != 0xc1) return true; // progressive, lossless or arithmetic coded
            if (frame) frameComponents = p + 9 < b.length ? b[p + 9] & 0xff : -1;
            p += 2 + ((b[p + 2] & 0xff) << 8 | (b[p + 3] & 0xff));
        }
        return true;
    }

    /**
     * An opened JPEG: its header, and once decoded its RGB pixels; close frees both and the decode
     * memory held. Its width and height are those it decodes to: the file's divided by its scale.
     */
    static final class Jpeg implements AutoCloseable {
        private final Arena arena;
        private final MemorySegment data;
        private final int fullWidth, fullHeight, width, height, scale, components;
        private final boolean buffersCoefficients;
        private DecodeMemory.Hold held;

        private Jpeg(Arena arena, MemorySegment data, int fullWidth, int fullHeight, int scale, int components,
                     boolean buffersCoefficients) {
            this.arena = arena;
            this.data = data;
            this.fullWidth = fullWidth;
            this.fullHeight = fullHeight;
            this.scale = scale;
            // TurboJPEG's scaled size: the dimension times the scaling factor, rounded up
            this.width = Math.ceilDiv(fullWidth, scale);
            this.height = Math.ceilDiv(fullHeight, scale);
            this.components = components;
            this.buffersCoefficients = buffersCoefficients;
        }

        int width() {
            return width;
        }

        int height() {
            return height;
        }

        /** 1, or the factor the DCT scales the image down by. */
        int scale() {
            return scale;
        }

        /**
         * What decoding holds: the encoded and the decoded bytes, and the coefficients of a
         * progressive or multi-scan JPEG (all of the file's, however it is scaled).
         */
        long decodeBytes() {
            long coefficients = buffersCoefficients ? 2L * components * (fullWidth + 16L) * (fullHeight + 16L) : 0;
            return data.byteSize() + 3L * width * height + coefficients;
        }

        /**
         * Decodes the whole image, holding {@link #decodeBytes()} and {@code extraBytes} (what
         * the caller allocates for it) of the decode budget until close. Returns its pixels, with
         * what is damaged added to {@code damage} (the pixels are decoded as far as they could
         * be), or null when TurboJPEG calls the JPEG undecodable: javax.imageio then has its say.
         */
        Pixels decode(long extraBytes, List<String> damage) throws IOException {
            if (held != null) throw new IllegalStateException("decoded already");
            held = DecodeMemory.hold(decodeBytes() + extraBytes);
            MemorySegment rgb = arena.allocate(3L * width * height);
            TurboJpegLibrary library = TurboJpegLibrary.INSTANCE;
            if (library.decompress(data, rgb, width, height) != 0) {
                if (!library.lastIsWarning()) return null;
                damage.add(library.lastMessage());
            }
            return new Pixels(rgb, width, height);
        }

        @Override
        public void close() {
            arena.close();
            if (held != null) held.close();
        }
    }

    /** Decoded RGB pixels in native memory, valid until their {@link Jpeg} is closed. */
    record Pixels(MemorySegment rgb, int width, int height) implements PixelSource {
        @Override
        public void read(int x0, int y0, int x1, int y1, Rows rows) {
            int n = x1 - x0;
            byte[] bytes = new byte[3 * n];
            int[] row = new int[n];
            for (int y = y0; y < y1; y++) {
                MemorySegment.copy(rgb, ValueLayout.JAVA_BYTE, 3 * ((long) y * width + x0), bytes, 0, bytes.length);
                for (int i = 0, p = 0; i < n; i++, p += 3) {
                    row[i] = (bytes[p] & 0xff) << 16 | (bytes[p + 1] & 0xff) << 8 | bytes[p + 2] & 0xff;
                }
                rows.row(y, row);
            }
        }

        /** The pixels as 8-bit RGB, row-major HWC, into {@code hwc}. */
        void copyTo(byte[] hwc) {
            MemorySegment.copy(rgb, ValueLayout.JAVA_BYTE, 0, hwc, 0, 3 * width * height);
        }
    }
}
