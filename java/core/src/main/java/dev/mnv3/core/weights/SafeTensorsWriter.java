package dev.mnv3.core.weights;

import dev.mnv3.core.Json;
import dev.mnv3.core.io.OutputFile;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files, the form {@link SafeTensors} reads: the header's JSON padded with
 * spaces so that the data section starts 8-byte aligned, then each tensor's little-endian bytes
 * in order. A file appears atomically and only replaces a regular file that is not one of the
 * run's inputs ({@link OutputFile}).
 */
public final class SafeTensorsWriter {
    private SafeTensorsWriter() {
    }

    /** One tensor to write: raw little-endian bytes of {@code dtype} with the given shape. */
    public record Blob(String name, DType dtype, long[] shape, byte[] bytes) {
        public static Blob of(String name, Tensor t, DType dtype) {
            float[] f = t.data();
            long[] shape = Arrays.stream(t.shape()).asLongStream().toArray();
            MemorySegment out = MemorySegment.ofArray(new byte[MemoryBudget.arrayLength((long) f.length * dtype.bytes,
                    "tensor '" + name + "' as " + dtype + " bytes")]);
            switch (dtype) {
                case F32 -> MemorySegment.copy(f, 0, out, LittleEndian.F32, 0, f.length);
                case F16, BF16 -> {
                    for (int i = 0; i < f.length; i++) out.setAtIndex(LittleEndian.I16, i, dtype.encode(f[i]));
                }
                case U8, I64 -> throw new IllegalArgumentException("a float tensor is written as F32, F16 or BF16, not " + dtype
                        + (dtype == DType.I64 ? " (use Blob.ofLongs)" : ""));
            }
            return new Blob(name, dtype, shape, out.toArray(ValueLayout.JAVA_BYTE));
        }

        public static Blob ofLongs(String name, long[] shape, long[] values) {
            MemorySegment out = MemorySegment.ofArray(new byte[MemoryBudget.arrayLength(values.length * 8L,
                    "tensor '" + name + "' as I64 bytes")]);
            MemorySegment.copy(values, 0, out, LittleEndian.I64, 0, values.length);
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

    /** Writes the blobs in order with {@code metadata} (null: none), refusing to overwrite any of {@code inputs}. */
    public static void write(Path path, List<Blob> blobs, Map<String, String> metadata, Collection<Path> inputs)
            throws IOException {
        byte[] header = paddedHeader(blobs, metadata);
        OutputFile.write(path, inputs, ch -> {
            writeFully(ch, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length));
            writeFully(ch, ByteBuffer.wrap(header));
            for (Blob b : blobs) writeFully(ch, ByteBuffer.wrap(b.bytes()));
        });
    }

    /** The header's JSON in UTF-8, padded with spaces to a multiple of 8 bytes. */
    private static byte[] paddedHeader(List<Blob> blobs, Map<String, String> metadata) {
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
        byte[] headerPadded = Arrays.copyOf(header, padded);
        Arrays.fill(headerPadded, header.length, padded, (byte) ' ');
        return headerPadded;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
