package dev.mnv3.core.weights;

import dev.mnv3.core.io.InputFiles;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.MemoryLimitException;
import dev.mnv3.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * A memory-mapped safetensors file, read by tensor name. Its header is validated whole when the
 * file is opened ({@link SafeTensorsHeader}), so every later read is in bounds;
 * {@link SafeTensorsWriter} writes the format.
 */
public final class SafeTensors implements AutoCloseable {
    /** One tensor of the header; {@code begin}/{@code end} are byte offsets into the data section. */
    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        public long numel() {
            return StoredTensor.numel(shape);
        }

        public String shapeString() {
            return StoredTensor.shapeString(shape);
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(Path path, Arena arena, MemorySegment file, SafeTensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.data = file.asSlice(header.dataOffset());
        this.entries = header.entries();
        this.metadata = header.metadata();
    }

    public static SafeTensors open(Path path) throws IOException {
        InputFiles.requireRegularFile(path);
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            return mapped(path, arena, size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena), size);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The safetensors file {@code path}, already mapped as {@code file} ({@code size} bytes) in {@code arena}, which it closes. */
    static SafeTensors mapped(Path path, Arena arena, MemorySegment file, long size) throws SafeTensorsFormatException {
        return new SafeTensors(path, arena, file, SafeTensorsHeader.read(path, file, size));
    }

    /** Parses a safetensors file held in memory; {@code label} names it in errors (the fuzz tests feed bytes here). */
    static SafeTensors parse(String label, byte[] bytes) throws SafeTensorsFormatException {
        Path path = Path.of(label);
        MemorySegment file = MemorySegment.ofArray(bytes);
        return new SafeTensors(path, Arena.ofShared(), file, SafeTensorsHeader.read(path, file, bytes.length));
    }

    public Path path() {
        return path;
    }

    /** The data section, which every entry's offsets address. */
    MemorySegment data() {
        return data;
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
        return StoredTensor.of(this, entry(name), data).readFloats();
    }

    public long[] readLongs(String name) {
        return StoredTensor.of(this, entry(name), data).readLongs();
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
}
