package dev.mnv3.core.weights;

import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.Json;
import dev.mnv3.core.io.InputFiles;
import dev.mnv3.core.io.OutputFile;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.MemoryLimitException;
import dev.mnv3.core.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped safetensors file: an 8-byte little-endian header length N, N bytes of JSON
 * describing each tensor (dtype, shape, data offsets relative to the data section), then the raw
 * little-endian data. The whole header is validated when the file is opened, so every later read
 * is in bounds.
 */
public final class SafeTensors implements AutoCloseable {
    /** The format's own cap on the header size (safetensors' reference implementation uses 100 MB). */
    static final long MAX_HEADER_BYTES = 100_000_000;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One tensor of the header; {@code begin}/{@code end} are byte offsets into the data section. */
    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public String shapeString() {
            return java.util.Arrays.toString(shape).replace(" ", "");
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(Path path, Arena arena, MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    public static SafeTensors open(Path path) throws IOException {
        InputFiles.requireRegularFile(path);
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment file = size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return parse(path, arena, file, size);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Parses a safetensors file held in memory; {@code label} names it in errors (the fuzz tests feed bytes here). */
    static SafeTensors parse(String label, byte[] bytes) throws SafeTensorsFormatException {
        return parse(Path.of(label), Arena.ofShared(), MemorySegment.ofArray(bytes), bytes.length);
    }

    private static SafeTensors parse(Path path, Arena arena, MemorySegment file, long size) throws SafeTensorsFormatException {
        if (size < 8) {
            throw new SafeTensorsFormatException(path, "truncated: " + size + " bytes, but the 8-byte header length alone needs 8");
        }
        long n = file.get(I64_LE, 0);
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
                    .decode(java.nio.ByteBuffer.wrap(headerBytes)).toString();
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
        MemorySegment dataSection = file.asSlice(8 + n);
        long dataSize = dataSection.byteSize();
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
        return new SafeTensors(path, arena, dataSection, Collections.unmodifiableMap(entries), metadata);
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
                    + " bytes, but shape " + java.util.Arrays.toString(shape).replace(" ", "") + " of " + dtype + " needs " + needed);
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
    private static void checkCoverage(Path path, java.util.Collection<Entry> entries, long dataSize)
            throws SafeTensorsFormatException {
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

    public Path path() {
        return path;
    }

    /** Tensors in header order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException(path + " has no tensor '" + name + "'");
        return e;
    }

    /** Reads a floating-point tensor as float32 (F16 and BF16 widen exactly). */
    public float[] readFloats(String name) {
        Entry e = entry(name);
        if (!e.dtype().isFloat()) {
            throw new IllegalArgumentException("tensor '" + name + "' in " + path + " is " + e.dtype() + ", not a floating-point tensor");
        }
        String what = "tensor '" + name + "' " + e.shapeString() + " in " + path;
        int n = MemoryBudget.arrayLength(e.numel(), what);
        MemoryBudget.reserve(MemoryBudget.floatBytes(n, what), "reading " + what);
        float[] out = new float[n];
        MemorySegment s = data.asSlice(e.begin(), e.end() - e.begin());
        try {
            switch (e.dtype()) {
                case F32 -> MemorySegment.copy(s, F32_LE, 0, out, 0, n);
                case F16 -> {
                    for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(s.getAtIndex(I16_LE, i));
                }
                case BF16 -> {
                    for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((s.getAtIndex(I16_LE, i) & 0xffff) << 16);
                }
                default -> throw new AssertionError(e.dtype());
            }
        } catch (InternalError fault) {
            throw changedWhileMapped(fault);
        }
        return out;
    }

    /**
     * Reading a mapped page past the end of a file that another process truncated faults; the JVM
     * turns the fault into an InternalError, which here becomes what happened to which file.
     */
    private UncheckedIOException changedWhileMapped(InternalError fault) {
        return new UncheckedIOException(new IOException(path + " was truncated or changed by another program while mnv3 "
                + "read it; read it again once nothing else writes it", fault));
    }

    public long[] readLongs(String name) {
        Entry e = entry(name);
        if (e.dtype() != DType.I64) {
            throw new IllegalArgumentException("tensor '" + name + "' in " + path + " is " + e.dtype() + ", not I64");
        }
        long[] out = new long[MemoryBudget.arrayLength(e.numel(), "tensor '" + name + "' in " + path)];
        try {
            MemorySegment.copy(data, I64_LE, e.begin(), out, 0, out.length);
        } catch (InternalError fault) {
            throw changedWhileMapped(fault);
        }
        return out;
    }

    /** Reads a floating-point tensor as a float32 {@link Tensor}. */
    public Tensor readTensor(String name) {
        Entry e = entry(name);
        int[] shape = new int[e.shape().length];
        for (int i = 0; i < shape.length; i++) {
            if (e.shape()[i] > Integer.MAX_VALUE) {
                throw new MemoryLimitException("tensor '" + name + "' in " + path + " has dimension " + i + " of "
                        + e.shape()[i] + ", more than a tensor dimension holds (" + Integer.MAX_VALUE + ")");
            }
            shape[i] = (int) e.shape()[i];
        }
        return new Tensor(shape, readFloats(name));
    }

    @Override
    public void close() {
        arena.close();
    }

    // ---------------------------------------------------------------- writing

    /** One tensor to write: raw little-endian bytes of {@code dtype} with the given shape. */
    public record Blob(String name, DType dtype, long[] shape, byte[] bytes) {
        public static Blob of(String name, Tensor t, DType dtype) {
            float[] f = t.data();
            long[] shape = java.util.Arrays.stream(t.shape()).asLongStream().toArray();
            MemorySegment out = MemorySegment.ofArray(new byte[f.length * dtype.bytes]);
            switch (dtype) {
                case F32 -> MemorySegment.copy(f, 0, out, F32_LE, 0, f.length);
                case F16, BF16 -> {
                    for (int i = 0; i < f.length; i++) out.setAtIndex(I16_LE, i, dtype.encode(f[i]));
                }
                case U8, I64 -> throw new IllegalArgumentException("a float tensor is written as F32, F16 or BF16, not " + dtype
                        + (dtype == DType.I64 ? " (use Blob.ofLongs)" : ""));
            }
            return new Blob(name, dtype, shape, out.toArray(ValueLayout.JAVA_BYTE));
        }

        public static Blob ofLongs(String name, long[] shape, long[] values) {
            MemorySegment out = MemorySegment.ofArray(new byte[values.length * 8]);
            MemorySegment.copy(values, 0, out, I64_LE, 0, values.length);
            return new Blob(name, DType.I64, shape.clone(), out.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /** Writes float32 tensors in map order. */
    public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        write(path, tensors, metadata, List.of());
    }

    /** Writes float32 tensors in map order, refusing to overwrite any of {@code inputs} (see {@link OutputFile}). */
    public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata, Collection<Path> inputs)
            throws IOException {
        List<Blob> blobs = new ArrayList<>();
        tensors.forEach((name, t) -> blobs.add(Blob.of(name, t, DType.F32)));
        write(path, blobs, metadata, inputs);
    }

    public static void write(Path path, List<Blob> blobs, Map<String, String> metadata) throws IOException {
        write(path, blobs, metadata, List.of());
    }

    /**
     * Writes a safetensors file: the header is padded with spaces so the data section starts
     * 8-byte aligned. The file appears atomically and only replaces a regular file that is not one
     * of {@code inputs} ({@link OutputFile}).
     */
    public static void write(Path path, List<Blob> blobs, Map<String, String> metadata, Collection<Path> inputs)
            throws IOException {
        StringBuilder h = new StringBuilder("{");
        if (metadata != null && !metadata.isEmpty()) {
            h.append("\"__metadata__\":{");
            boolean first = true;
            for (Map.Entry<String, String> m : metadata.entrySet()) {
                if (!first) h.append(',');
                h.append(Json.quote(m.getKey())).append(':').append(Json.quote(m.getValue()));
                first = false;
            }
            h.append('}');
        }
        long offset = 0;
        for (Blob b : blobs) {
            if (h.length() > 1) h.append(',');
            h.append(Json.quote(b.name())).append(":{\"dtype\":\"").append(b.dtype()).append("\",\"shape\":[");
            for (int i = 0; i < b.shape().length; i++) h.append(i > 0 ? "," : "").append(b.shape()[i]);
            h.append("],\"data_offsets\":[").append(offset).append(',').append(offset + b.bytes().length).append("]}");
            offset += b.bytes().length;
        }
        h.append('}');
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 7) / 8 * 8;
        byte[] headerPadded = java.util.Arrays.copyOf(header, padded);
        java.util.Arrays.fill(headerPadded, header.length, padded, (byte) ' ');

        OutputFile.write(path, inputs, ch -> {
            java.nio.ByteBuffer len = java.nio.ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, padded);
            writeFully(ch, len);
            writeFully(ch, java.nio.ByteBuffer.wrap(headerPadded));
            for (Blob b : blobs) writeFully(ch, java.nio.ByteBuffer.wrap(b.bytes()));
        });
    }

    private static void writeFully(FileChannel ch, java.nio.ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
