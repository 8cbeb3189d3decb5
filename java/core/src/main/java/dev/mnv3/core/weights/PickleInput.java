package dev.mnv3.core.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;

/**
 * The bytes of a pickle, read in order, each read checked against the bytes that are left before
 * anything is allocated for it: a length a hostile pickle states is believed only when the bytes
 * are there.
 */
final class PickleInput {
    /** Keys, names and the strings a training script adds stay far below this; past it a length is hostile. */
    static final long MAX_STRING_BYTES = 16 << 20;

    private final MemorySegment pickle;
    private final Function<String, CheckpointFormatException> malformed;
    private long pos;

    PickleInput(MemorySegment pickle, Function<String, CheckpointFormatException> malformed) {
        this.pickle = pickle;
        this.malformed = malformed;
    }

    long position() {
        return pos;
    }

    void rewind() {
        pos = 0;
    }

    /** A string length that is neither negative nor past {@link #MAX_STRING_BYTES}. */
    long stringLength(long n) throws CheckpointFormatException {
        if (n < 0 || n > MAX_STRING_BYTES) {
            throw malformed.apply("a string of " + Long.toUnsignedString(n) + " bytes (mnv3 reads up to " + MAX_STRING_BYTES + ")");
        }
        return n;
    }

    String string(long n) throws CheckpointFormatException {
        need(n);
        byte[] b = pickle.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
        pos += n;
        return new String(b, StandardCharsets.UTF_8);
    }

    /** A GLOBAL argument: text up to a newline, at most 256 bytes (module and class names). */
    String line() throws CheckpointFormatException {
        StringBuilder sb = new StringBuilder();
        while (true) {
            int c = u8();
            if (c == '\n') return sb.toString();
            if (sb.length() == 256) throw malformed.apply("a global's name runs past 256 bytes at byte " + pos);
            sb.append((char) c);
        }
    }

    void skip(long n) throws CheckpointFormatException {
        need(n);
        pos += n;
    }

    int u8() throws CheckpointFormatException {
        need(1);
        return pickle.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
    }

    long u32() throws CheckpointFormatException {
        need(4);
        long v = pickle.get(LittleEndian.I32, pos) & 0xffffffffL;
        pos += 4;
        return v;
    }

    long i64() throws CheckpointFormatException {
        need(8);
        long v = pickle.get(LittleEndian.I64, pos);
        pos += 8;
        return v;
    }

    private void need(long n) throws CheckpointFormatException {
        if (n > pickle.byteSize() - pos) {
            throw malformed.apply("truncated: " + n + " bytes wanted at byte " + pos + ", " + (pickle.byteSize() - pos) + " left");
        }
    }
}
