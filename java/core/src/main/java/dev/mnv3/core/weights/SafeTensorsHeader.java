package dev.mnv3.core.weights;

import dev.mnv3.core.Json;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.weights.SafeTensors.Entry;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The header of a safetensors file, read and validated whole: an 8-byte little-endian length N,
 * then N bytes of JSON naming each tensor's dtype, shape and byte offsets in the data section
 * that follows. Every check happens here, once, so that every read {@link SafeTensors} makes
 * later is in bounds: the JSON's form, each tensor's size against its offsets, and the tensors
 * tiling the data section exactly.
 *
 * @param entries    the tensors in header order
 * @param metadata   the {@code __metadata__} strings (empty when there are none)
 * @param dataOffset where the data section begins in the file
 */
record SafeTensorsHeader(Map<String, Entry> entries, Map<String, String> metadata, long dataOffset) {
    /** The format's own cap on the header size (safetensors' reference implementation uses 100 MB). */
    static final long MAX_HEADER_BYTES = 100_000_000;

    /** Reads the header of {@code file} ({@code size} bytes); {@code path} names it in errors. */
    static SafeTensorsHeader read(Path path, MemorySegment file, long size) throws SafeTensorsFormatException {
        if (size < 8) {
            throw new SafeTensorsFormatException(path, "truncated: " + size + " bytes, but the 8-byte header length alone needs 8");
        }
        long n = file.get(LittleEndian.I64, 0);
        if (n < 0 || n > size - 8) {
            throw new SafeTensorsFormatException(path, "header length " + Long.toUnsignedString(n) + " is larger than the "
                    + (size - 8) + " bytes that follow it (truncated or not safetensors)");
        }
        if (n > MAX_HEADER_BYTES) {
            throw new SafeTensorsFormatException(path, "header length " + n + " exceeds the format's limit of " + MAX_HEADER_BYTES);
        }
        byte[] headerBytes = file.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        String headerText;
        try {
            headerText = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(headerBytes)).toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsFormatException(path, "header is not valid UTF-8");
        }
        Object json;
        try {
            json = Json.parse(headerText.stripTrailing());
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsFormatException(path, "header is not valid JSON (" + e.getMessage() + ")");
        }
        if (!(json instanceof Map<?, ?>)) {
            throw new SafeTensorsFormatException(path, "header JSON is not an object (found " + describe(json) + ")");
        }
        long dataSize = size - 8 - n;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        try {
            for (Map.Entry<String, Object> e : Json.object(json, "header").entrySet()) {
                if (e.getKey().equals("__metadata__")) {
                    metadata = parseMetadata(e.getValue());
                } else {
                    entries.put(e.getKey(), parseEntry(e.getKey(), e.getValue(), dataSize));
                }
            }
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new SafeTensorsFormatException(path, e.getMessage());
        }
        checkCoverage(path, entries.values(), dataSize);
        return new SafeTensorsHeader(Collections.unmodifiableMap(entries), metadata, 8 + n);
    }

    private static Map<String, String> parseMetadata(Object v) {
        Map<String, String> m = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : Json.object(v, "__metadata__").entrySet()) {
            m.put(e.getKey(), Json.string(e.getValue(), "__metadata__." + e.getKey()));
        }
        return Collections.unmodifiableMap(m);
    }

    private static Entry parseEntry(String name, Object v, long dataSize) {
        String where = "tensor '" + name + "'";
        Map<String, Object> o = Json.object(v, where);
        Json.checkKeys(o, where, "dtype", "shape", "data_offsets");
        for (String k : List.of("dtype", "shape", "data_offsets")) {
            if (!o.containsKey(k)) throw new IllegalArgumentException(where + " has no \"" + k + "\"");
        }
        DType dtype = DType.parse(Json.string(o.get("dtype"), where + " dtype"), name);
        List<Object> dims = Json.array(o.get("shape"), where + " shape");
        long[] shape = new long[dims.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = Json.longValue(dims.get(i), where + " shape[" + i + "]");
            if (shape[i] < 0) throw new IllegalArgumentException(where + " has a negative dimension " + shape[i]);
            numel = multiplyNamed(numel, shape[i], where);
        }
        List<Object> offs = Json.array(o.get("data_offsets"), where + " data_offsets");
        if (offs.size() != 2) {
            throw new IllegalArgumentException(where + " data_offsets must be [begin, end], got " + offs.size() + " values");
        }
        long begin = Json.longValue(offs.get(0), where + " data_offsets[0]");
        long end = Json.longValue(offs.get(1), where + " data_offsets[1]");
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException(where + " has invalid data_offsets [" + begin + "," + end + "]");
        }
        if (end > dataSize) {
            throw new IllegalArgumentException(where + " data_offsets [" + begin + "," + end + "] are out of range: the data section has "
                    + dataSize + " bytes (file truncated?)");
        }
        long needed = multiplyNamed(numel, dtype.bytes, where);
        if (end - begin != needed) {
            throw new IllegalArgumentException(where + " data_offsets [" + begin + "," + end + "] hold " + (end - begin)
                    + " bytes, but shape " + Arrays.toString(shape).replace(" ", "") + " of " + dtype + " needs " + needed);
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    /** a * b, failing with a message that names the tensor rather than a bare "long overflow". */
    private static long multiplyNamed(long a, long b, String where) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(where + " has a shape with too many elements to address");
        }
    }

    /**
     * The format requires the tensors to tile the data section exactly: no overlap, no hole, no
     * trailing bytes. Sorted by offsets, each tensor must begin where the one before ended, and
     * the last end where the file does; empty tensors own no bytes and may sit anywhere in range.
     */
    private static void checkCoverage(Path path, Collection<Entry> entries, long dataSize) throws SafeTensorsFormatException {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.removeIf(e -> e.begin() == e.end());
        sorted.sort(Comparator.comparingLong(Entry::begin));
        long covered = 0;
        Entry previous = null;
        for (Entry e : sorted) {
            if (e.begin() < covered) {
                throw new SafeTensorsFormatException(path, "tensors '" + previous.name() + "' [" + previous.begin() + ","
                        + previous.end() + "] and '" + e.name() + "' [" + e.begin() + "," + e.end() + "] overlap");
            }
            if (e.begin() > covered) {
                throw new SafeTensorsFormatException(path, "bytes [" + covered + "," + e.begin()
                        + ") of the data section belong to no tensor (a hole before '" + e.name() + "')");
            }
            covered = e.end();
            previous = e;
        }
        if (covered != dataSize) {
            throw new SafeTensorsFormatException(path, dataSize - covered + " trailing bytes after the last tensor: the data "
                    + "section has " + dataSize + " bytes, the tensors cover " + covered);
        }
    }

    private static String describe(Object json) {
        if (json == null) return "null";
        if (json instanceof List<?>) return "an array";
        if (json instanceof String) return "a string";
        if (json instanceof Boolean) return "a boolean";
        return "a number";
    }
}
