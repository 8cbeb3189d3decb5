package dev.mnv3.core.image;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Cleaner;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * JPEG decoding through libjpeg-turbo's TurboJPEG library ({@code libturbojpeg.so.0}, its 2.x
 * API), called through the FFM API. It is the library PIL decodes with, so a YCbCr, RGB or
 * greyscale JPEG decodes to PIL's pixels exactly, and its SIMD code decodes about twice as fast
 * as javax.imageio's libjpeg 6b. Optional: where the library is missing, where
 * {@code -Dmnv3.jpeg=imageio} says so, and for what it does not take here (CMYK and YCCK, a
 * file too large to read whole, an image whose full decode would not fit the decode budget, any
 * error it calls fatal), {@link #open} answers null and javax.imageio decodes the image as before.
 *
 * <p>Every decode has its own confined arena (the encoded bytes and the decoded pixels: freed on
 * close, on every path) and every thread its own decompressor handle (a TurboJPEG handle is not
 * thread-safe), destroyed once the thread is gone. Sizes come from the header and are checked
 * against {@link ImageDecoder#MAX_PIXELS} and the decode budget before anything is allocated.
 */
@SuppressWarnings("restricted") // binding libturbojpeg is this class's purpose
final class TurboJpeg {
    /** The system property that chooses the JPEG decoder: auto (the default), turbo or imageio. */
    static final String PROPERTY = "mnv3.jpeg";
    /** The system property naming the library: a path, or a name for the dynamic loader (the default, {@link #LIBRARY}). */
    static final String LIBRARY_PROPERTY = "mnv3.jpeg.library";
    static final String LIBRARY = "libturbojpeg.so.0";

    private static final System.Logger LOG = System.getLogger(TurboJpeg.class.getName());
    private static final AtomicBoolean ABSENCE_SAID = new AtomicBoolean();

    // turbojpeg.h (2.x)
    private static final int TJPF_RGB = 0;
    private static final int TJCS_RGB = 0, TJCS_YCBCR = 1, TJCS_GRAY = 2;
    private static final int TJERR_WARNING = 0;

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
        return Bindings.INSTANCE != null;
    }

    /** Why the library could not be used, or null when it can. */
    static String unavailableReason() {
        return Bindings.PROBLEM;
    }

    /** Whether JPEGs go to TurboJPEG now: the choice, and the library's presence. */
    private static boolean chosen() {
        Choice choice = Choice.current();
        if (choice == Choice.IMAGEIO) return false;
        if (available()) return true;
        if (choice == Choice.TURBO) {
            throw new IllegalArgumentException("-D" + PROPERTY + "=turbo, but libjpeg-turbo's TurboJPEG library cannot be used: "
                    + Bindings.PROBLEM + " (Debian, Ubuntu: apt-get install libturbojpeg0)");
        }
        if (!ABSENCE_SAID.getAndSet(true)) {
            LOG.log(System.Logger.Level.INFO, "no libjpeg-turbo (" + Bindings.PROBLEM + "): JPEGs decode through javax.imageio, "
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
     * {@link ImageDecoder#MAX_PIXELS} is refused here as there.
     */
    static Jpeg open(ImageSource source) throws IOException {
        if (!(source instanceof ImageSource.Bytes b) || !isJpeg(b.data()) || !chosen()) return null;
        byte[] encoded = b.data();
        if (encoded.length > DecodeMemory.capacity()) return null;
        Arena arena = Arena.ofConfined();
        try {
            MemorySegment data = arena.allocate(encoded.length);
            MemorySegment.copy(encoded, 0, data, ValueLayout.JAVA_BYTE, 0, encoded.length);
            MemorySegment dims = arena.allocate(ValueLayout.JAVA_INT, 4); // width, height, subsampling, colour space
            dims.setAtIndex(ValueLayout.JAVA_INT, 3, -1);
            MemorySegment handle = Handles.current();
            int status = Bindings.INSTANCE.header(handle, data, dims);
            int w = dims.getAtIndex(ValueLayout.JAVA_INT, 0), h = dims.getAtIndex(ValueLayout.JAVA_INT, 1);
            int space = dims.getAtIndex(ValueLayout.JAVA_INT, 3);
            // a warning in the header (extraneous bytes, ...) leaves it read: the decode reports it
            boolean read = status == 0 || Bindings.INSTANCE.errorCode(handle) == TJERR_WARNING;
            if (!read || w < 1 || h < 1 || (space != TJCS_YCBCR && space != TJCS_RGB && space != TJCS_GRAY)) {
                arena.close();
                return null;
            }
            ImageDecoder.requireDecodable(source.name(), w, h);
            Jpeg jpeg = new Jpeg(arena, data, w, h, space == TJCS_GRAY ? 1 : 3, buffersCoefficients(encoded));
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

    /** An opened JPEG: its header, and once decoded its RGB pixels; close frees both and the decode memory held. */
    static final class Jpeg implements AutoCloseable {
        private final Arena arena;
        private final MemorySegment data;
        private final int width, height, components;
        private final boolean buffersCoefficients;
        private DecodeMemory.Hold held;

        private Jpeg(Arena arena, MemorySegment data, int width, int height, int components, boolean buffersCoefficients) {
            this.arena = arena;
            this.data = data;
            this.width = width;
            this.height = height;
            this.components = components;
            this.buffersCoefficients = buffersCoefficients;
        }

        int width() {
            return width;
        }

        int height() {
            return height;
        }

        /** What decoding holds: the encoded and the decoded bytes, and the coefficients of a progressive or multi-scan JPEG. */
        long decodeBytes() {
            long coefficients = buffersCoefficients ? 2L * components * (width + 16L) * (height + 16L) : 0;
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
            MemorySegment handle = Handles.current();
            int status = Bindings.INSTANCE.decompress(handle, data, rgb, width, height);
            if (status != 0) {
                if (Bindings.INSTANCE.errorCode(handle) != TJERR_WARNING) return null;
                damage.add(Bindings.INSTANCE.errorString(handle));
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

    /** One decompressor handle per thread, destroyed by a cleaner once its thread (and so its holder) is gone. */
    private static final class Handles {
        private static final Cleaner CLEANER = Cleaner.create();
        private static final ThreadLocal<Handles> CURRENT = new ThreadLocal<>();
        private final MemorySegment handle;

        private Handles(MemorySegment handle) {
            this.handle = handle;
        }

        static MemorySegment current() {
            Handles h = CURRENT.get();
            if (h == null) {
                MemorySegment handle = Bindings.INSTANCE.init();
                if (handle.equals(MemorySegment.NULL)) throw new OutOfMemoryError("TurboJPEG could not create a decompressor");
                h = new Handles(handle);
                CLEANER.register(h, () -> Bindings.INSTANCE.destroy(handle));
                CURRENT.set(h);
            }
            return h.handle;
        }
    }

    /** The six functions mnv3 calls, bound once per process; INSTANCE is null and PROBLEM says why where that failed. */
    private static final class Bindings {
        static final Bindings INSTANCE;
        static final String PROBLEM;

        static {
            Bindings b = null;
            String problem = null, library = System.getProperty(LIBRARY_PROPERTY, LIBRARY);
            try {
                SymbolLookup lookup = library.contains("/") ? SymbolLookup.libraryLookup(java.nio.file.Path.of(library), Arena.global())
                        : SymbolLookup.libraryLookup(library, Arena.global());
                b = new Bindings(lookup);
            } catch (RuntimeException | LinkageError e) {
                problem = library + ": " + String.valueOf(e.getMessage()).strip().replaceAll("\\s+", " ");
            }
            INSTANCE = b;
            PROBLEM = problem;
            if (b != null) LOG.log(System.Logger.Level.DEBUG, "JPEGs decode through libjpeg-turbo (" + library + ")");
        }

        private final MethodHandle init, header, decompress, errorCode, errorString, destroy;

        private Bindings(SymbolLookup lib) {
            ValueLayout a = ValueLayout.ADDRESS, i = ValueLayout.JAVA_INT, size = ValueLayout.JAVA_LONG; // unsigned long: LP64
            init = bind(lib, "tjInitDecompress", FunctionDescriptor.of(a));
            header = bind(lib, "tjDecompressHeader3", FunctionDescriptor.of(i, a, a, size, a, a, a, a));
            decompress = bind(lib, "tjDecompress2", FunctionDescriptor.of(i, a, a, size, a, i, i, i, i, i));
            errorCode = bind(lib, "tjGetErrorCode", FunctionDescriptor.of(i, a));
            errorString = bind(lib, "tjGetErrorStr2", FunctionDescriptor.of(a, a));
            destroy = bind(lib, "tjDestroy", FunctionDescriptor.of(i, a));
        }

        private static MethodHandle bind(SymbolLookup lib, String name, FunctionDescriptor fd) {
            MemorySegment symbol = lib.find(name).orElseThrow(() -> new UnsatisfiedLinkError(
                    "has no function " + name + " (TurboJPEG 2.0 or newer is needed)"));
            return Linker.nativeLinker().downcallHandle(symbol, fd);
        }

        MemorySegment init() {
            try {
                return (MemorySegment) init.invokeExact();
            } catch (Throwable t) {
                throw rethrown(t);
            }
        }

        int header(MemorySegment handle, MemorySegment jpeg, MemorySegment dims) {
            long n = ValueLayout.JAVA_INT.byteSize();
            try {
                return (int) header.invokeExact(handle, jpeg, jpeg.byteSize(), dims, dims.asSlice(n), dims.asSlice(2 * n),
                        dims.asSlice(3 * n));
            } catch (Throwable t) {
                throw rethrown(t);
            }
        }

        /** Flags 0: the accurate integer DCT and smooth chroma upsampling, as PIL decodes. */
        int decompress(MemorySegment handle, MemorySegment jpeg, MemorySegment rgb, int width, int height) {
            try {
                return (int) decompress.invokeExact(handle, jpeg, jpeg.byteSize(), rgb, width, 3 * width, height, TJPF_RGB, 0);
            } catch (Throwable t) {
                throw rethrown(t);
            }
        }

        int errorCode(MemorySegment handle) {
            try {
                return (int) errorCode.invokeExact(handle);
            } catch (Throwable t) {
                throw rethrown(t);
            }
        }

        /** The last message of this handle (for libjpeg's warnings and errors, of this thread), one line. */
        String errorString(MemorySegment handle) {
            MemorySegment s;
            try {
                s = (MemorySegment) errorString.invokeExact(handle);
            } catch (Throwable t) {
                throw rethrown(t);
            }
            String m = s.equals(MemorySegment.NULL) ? "" : s.reinterpret(200).getString(0).strip(); // JMSG_LENGTH_MAX
            return m.isEmpty() ? "corrupt JPEG data" : m.replaceAll("\\s+", " ");
        }

        void destroy(MemorySegment handle) {
            try {
                int ignored = (int) destroy.invokeExact(handle);
            } catch (Throwable t) {
                throw rethrown(t);
            }
        }

        private static RuntimeException rethrown(Throwable t) {
            if (t instanceof RuntimeException r) return r;
            if (t instanceof Error e) throw e;
            return new IllegalStateException(t);
        }
    }
}
