package dev.mnv3.cuda.ffi;

import dev.mnv3.core.backend.BackendUnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Our kernels as one fatbin, compiled by CMakeLists.txt and packed into this jar with a
 * {@code .cuda} note beside it: the CUDA version of the nvcc that built it, which decides the
 * driver it needs. A build without nvcc packs a {@code .missing} note instead, which becomes the
 * backend's unavailable reason. {@code -Dmnv3.cuda.fatbin=FILE} loads another one (to try a
 * rebuilt fatbin without new jars), with its note read from {@code FILE.cuda} when there is one.
 */
public final class Fatbin {
    public static final String RESOURCE = "/dev/mnv3/cuda/mnv3_kernels.fatbin";
    public static final String PROPERTY = "mnv3.cuda.fatbin";
    /** First word of a fatbin container ("BA55ED50"), little-endian. */
    public static final int MAGIC = 0xBA55ED50;
    private static final Pattern CUDA_VERSION = Pattern.compile("(\\d+)\\.(\\d+)");

    private Fatbin() {
    }

    /** The fatbin's bytes; throws with the reason when this build has none. */
    public static byte[] load() {
        // the property only says where the kernels are, never how a model runs
        String override = System.getProperty(PROPERTY);
        try {
            byte[] bytes;
            String from;
            if (override != null && !override.isBlank()) {
                bytes = Files.readAllBytes(Path.of(override));
                from = override + " (-D" + PROPERTY + ")";
            } else {
                bytes = resource(RESOURCE);
                from = "resource " + RESOURCE;
                if (bytes == null) throw new BackendUnavailableException(missingReason());
            }
            if (!isFatbin(bytes)) {
                throw new BackendUnavailableException("the CUDA kernels at " + from + " are not a fatbin (bad magic)");
            }
            return bytes;
        } catch (IOException e) {
            throw new BackendUnavailableException("cannot read the CUDA kernels: " + e.getMessage(), e);
        }
    }

    /**
     * The CUDA version of the nvcc that built the fatbin, as the driver API counts (13000 for
     * 13.0), or 0 when no note says it.
     */
    public static int builtCuda() {
        String override = System.getProperty(PROPERTY);
        try {
            byte[] note;
            if (override != null && !override.isBlank()) {
                Path beside = Path.of(override + ".cuda");
                note = Files.isRegularFile(beside) ? Files.readAllBytes(beside) : null;
            } else {
                note = resource(RESOURCE + ".cuda");
            }
            return note == null ? 0 : parseCuda(new String(note, StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException unreadable) {
            return 0;
        }
    }

    /** Whether there is a fatbin to load (the jar's, or -Dmnv3.cuda.fatbin's), without reading it. */
    public static boolean present() {
        String override = System.getProperty(PROPERTY);
        return override != null && !override.isBlank() ? Files.isRegularFile(Path.of(override))
                : Fatbin.class.getResource(RESOURCE) != null;
    }

    /** "13.0" -> 13000, as cuDriverGetVersion counts; 0 for anything else. */
    public static int parseCuda(String note) {
        Matcher m = CUDA_VERSION.matcher(note.strip());
        return m.matches() ? Integer.parseInt(m.group(1)) * 1000 + Integer.parseInt(m.group(2)) * 10 : 0;
    }

    /** Why there is no fatbin: the build's note if it left one. */
    public static String missingReason() {
        try {
            byte[] note = resource(RESOURCE + ".missing");
            if (note != null) return new String(note, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return "the CUDA kernels were not built: " + RESOURCE + " is not in the mnv3-cuda jar (was it built without cmake?)";
    }

    public static boolean isFatbin(byte[] bytes) {
        return bytes.length >= 16 && ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt(0) == MAGIC;
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = Fatbin.class.getResourceAsStream(name)) {
            return in == null ? null : in.readAllBytes();
        }
    }
}
