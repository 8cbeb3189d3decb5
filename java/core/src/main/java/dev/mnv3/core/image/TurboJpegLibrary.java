package dev.mnv3.core.image;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Cleaner;
import java.nio.file.Path;

/**
 * The FFM binding of libjpeg-turbo's TurboJPEG library ({@code libturbojpeg.so.0}, its 2.x API):
 * the six functions mnv3 calls, bound once per process. Every call runs on the calling thread's
 * own decompressor handle (a TurboJPEG handle is not thread-safe), created on first use and
 * destroyed once the thread is gone. What to decode and what to make of the results is
 * {@link TurboJpeg}'s business.
 */
@SuppressWarnings("restricted") // binding libturbojpeg is this class's purpose
final class TurboJpegLibrary {
    /** The system property naming the library: a path, or a name for the dynamic loader (the default, {@link #LIBRARY}). */
    static final String LIBRARY_PROPERTY = "mnv3.jpeg.library";
    static final String LIBRARY = "libturbojpeg.so.0";

    // turbojpeg.h (2.x)
    private static final int TJCS_RGB = 0, TJCS_YCBCR = 1, TJCS_GRAY = 2;
    private static final int TJPF_RGB = 0;
    private static final int TJERR_WARNING = 0;

    private static final System.Logger LOG = System.getLogger(TurboJpegLibrary.class.getName());

    /** The bound library, or null where it could not be loaded or bound ({@link #PROBLEM} says why). */
    static final TurboJpegLibrary INSTANCE;
    static final String PROBLEM;

    static {
        TurboJpegLibrary b = null;
        // a property that only says where the library is: not a model setting, so not in CompileOptions
        String problem = null, library = System.getProperty(LIBRARY_PROPERTY, LIBRARY);
        try {
            SymbolLookup lookup = library.contains("/") ? SymbolLookup.libraryLookup(Path.of(library), Arena.global())
                    : SymbolLookup.libraryLookup(library, Arena.global());
            b = new TurboJpegLibrary(lookup);
        } catch (RuntimeException | LinkageError e) {
            problem = library + ": " + String.valueOf(e.getMessage()).strip().replaceAll("\\s+", " ");
        }
        INSTANCE = b;
        PROBLEM = problem;
        if (b != null) LOG.log(System.Logger.Level.DEBUG, "JPEGs decode through libjpeg-turbo (" + library + ")");
    }

    /** What the header says: {@code read} is false where TurboJPEG could not read it (a warning leaves it read). */
    record Header(boolean read, int width, int height, int colourSpace) {
        /** Whether TurboJPEG 2 converts these colours to RGB: YCbCr, RGB and greyscale do, CMYK and YCCK do not. */
        boolean convertsToRgb() {
            return colourSpace == TJCS_YCBCR || colourSpace == TJCS_RGB || colourSpace == TJCS_GRAY;
        }

        /** Colour components in the file: 1 for greyscale, else 3. */
        int components() {
            return colourSpace == TJCS_GRAY ? 1 : 3;
        }
    }

    private final MethodHandle init, header, decompress, errorCode, errorString, destroy;

    private TurboJpegLibrary(SymbolLookup lib) {
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

    /** Reads the header of the JPEG in {@code jpeg}, its four fields allocated in {@code arena}. */
    Header header(MemorySegment jpeg, Arena arena) {
        MemorySegment dims = arena.allocate(ValueLayout.JAVA_INT, 4); // width, height, subsampling, colour space
        dims.setAtIndex(ValueLayout.JAVA_INT, 3, -1);
        MemorySegment handle = Handles.current(this);
        long n = ValueLayout.JAVA_INT.byteSize();
        int status;
        try {
            status = (int) header.invokeExact(handle, jpeg, jpeg.byteSize(), dims, dims.asSlice(n), dims.asSlice(2 * n),
                    dims.asSlice(3 * n));
        } catch (Throwable t) {
            throw rethrown(t);
        }
        // a warning in the header (extraneous bytes, ...) leaves it read: the decode reports it
        boolean read = status == 0 || lastIsWarning();
        return new Header(read, dims.getAtIndex(ValueLayout.JAVA_INT, 0), dims.getAtIndex(ValueLayout.JAVA_INT, 1),
                dims.getAtIndex(ValueLayout.JAVA_INT, 3));
    }

    /**
     * Decodes the JPEG into {@code rgb} (3 bytes a pixel, rows packed); 0 on success. Flags 0: the
     * accurate integer DCT and smooth chroma upsampling, as PIL decodes.
     */
    int decompress(MemorySegment jpeg, MemorySegment rgb, int width, int height) {
        try {
            return (int) decompress.invokeExact(Handles.current(this), jpeg, jpeg.byteSize(), rgb, width, 3 * width, height,
                    TJPF_RGB, 0);
        } catch (Throwable t) {
            throw rethrown(t);
        }
    }

    /** Whether this thread's last failed call was a warning (the image decoded, damaged) rather than fatal. */
    boolean lastIsWarning() {
        try {
            return (int) errorCode.invokeExact(Handles.current(this)) == TJERR_WARNING;
        } catch (Throwable t) {
            throw rethrown(t);
        }
    }

    /** The last message of this thread's handle (for libjpeg's warnings and errors), one line. */
    String lastMessage() {
        MemorySegment s;
        try {
            s = (MemorySegment) errorString.invokeExact(Handles.current(this));
        } catch (Throwable t) {
            throw rethrown(t);
        }
        String m = s.equals(MemorySegment.NULL) ? "" : s.reinterpret(200).getString(0).strip(); // JMSG_LENGTH_MAX
        return m.isEmpty() ? "corrupt JPEG data" : m.replaceAll("\\s+", " ");
    }

    private MemorySegment newHandle() {
        try {
            return (MemorySegment) init.invokeExact();
        } catch (Throwable t) {
            throw rethrown(t);
        }
    }

    private void destroy(MemorySegment handle) {
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

    /** One decompressor handle per thread, destroyed by a cleaner once its thread (and so its holder) is gone. */
    private static final class Handles {
        private static final Cleaner CLEANER = Cleaner.create();
        private static final ThreadLocal<Handles> CURRENT = new ThreadLocal<>();
        private final MemorySegment handle;

        private Handles(MemorySegment handle) {
            this.handle = handle;
        }

        static MemorySegment current(TurboJpegLibrary library) {
            Handles h = CURRENT.get();
            if (h == null) {
                MemorySegment handle = library.newHandle();
                if (handle.equals(MemorySegment.NULL)) throw new OutOfMemoryError("TurboJPEG could not create a decompressor");
                h = new Handles(handle);
                CLEANER.register(h, () -> library.destroy(handle));
                CURRENT.set(h);
            }
            return h.handle;
        }
    }
}
