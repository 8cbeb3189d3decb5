package dev.mnv3.core.weights;

import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.MemoryBudget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a {@link Checkpoint}, read on demand from the mapped file: its element type,
 * shape and where its elements lie in its storage (an offset and a stride per dimension, so a
 * view or a transposed tensor saved by PyTorch reads as PyTorch reads it). Bounds were checked
 * when the checkpoint was opened.
 */
public final class StoredTensor {
    private final Path file;
    private final String name;
    private final DType dtype;
    private final long[] shape, stride;
    private final MemorySegment storage;
    private final long offset;

    StoredTensor(Path file, String name, DType dtype, long[] shape, long[] stride, MemorySegment storage, long offset) {
        this.file = file;
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.stride = stride.clone();
        this.storage = storage;
        this.offset = offset;
    }

    /** A contiguous tensor of a safetensors file. */
    static StoredTensor of(SafeTensors st, SafeTensors.Entry e, MemorySegment data) {
        return new StoredTensor(st.path(), e.name(), e.dtype(), e.shape(), rowMajor(e.shape()), data.asSlice(e.begin(), e.end() - e.begin()), 0);
    }

    /** The row-major strides of {@code shape}, in elements. */
    static long[] rowMajor(long[] shape) {
        long[] s = new long[shape.length];
        long n = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = n;
            n *= Math.max(shape[i], 1);
        }
        return s;
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long numel() {
        return numel(shape);
    }

    /** E.g. {@code [16,3,3,3]}. */
    public String shapeString() {
        return shapeString(shape);
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    static String shapeString(long[] shape) {
        return Arrays.toString(shape).replace(" ", "");
    }

    /** The elements as float32 in row-major order (F16 and BF16 widen exactly). */
    public float[] readFloats() {
        if (!dtype.isFloat()) throw new IllegalArgumentException(describe() + " is " + dtype + ", not a floating-point tensor");
        String what = describe();
        int n = MemoryBudget.floatArray(numel(), () -> what);
        float[] out = new float[n];
        try {
            if (dtype == DType.F32) {
                forEachRun((to, from, len) -> MemorySegment.copy(storage, LittleEndian.F32, from * 4, out, to, len));
            } else {
                forEachRun((to, from, len) -> {
                    for (int i = 0; i < len; i++) out[to + i] = dtype.decode(storage.get(LittleEndian.I16, (from + i) * 2));
                });
            }
        } catch (InternalError fault) {
            throw changedWhileMapped(fault);
        }
        return out;
    }

    /** The elements of an I64 tensor in row-major order. */
    public long[] readLongs() {
        if (dtype != DType.I64) throw new IllegalArgumentException(describe() + " is " + dtype + ", not I64");
        long[] out = new long[MemoryBudget.arrayLength(numel(), describe())];
        try {
            forEachRun((to, from, len) -> MemorySegment.copy(storage, LittleEndian.I64, from * 8, out, to, len));
        } catch (InternalError fault) {
            throw changedWhileMapped(fault);
        }
        return out;
    }

    /** The elements' little-endian bytes in row-major order, as safetensors stores them. */
    public byte[] readBytes() {
        long bytes = Math.multiplyExact(numel(), dtype.bytes);
        MemoryBudget.reserve(bytes, describe());
        byte[] out = new byte[MemoryBudget.arrayLength(bytes, describe() + " in bytes")];
        int size = dtype.bytes;
        try {
            forEachRun((to, from, len) -> MemorySegment.copy(storage, ValueLayout.JAVA_BYTE, from * size, out, to * size, len * size));
        } catch (InternalError fault) {
            throw changedWhileMapped(fault);
        }
        return out;
    }

    private interface Run {
        /** Elements [from, from + len) of the storage become elements [to, to + len) of the tensor. */
        void copy(int to, long from, int len);
    }

    /** Calls {@code run} for each contiguous run of the last dimensions, in row-major order. */
    private void forEachRun(Run run) {
        long numel = numel();
        if (numel == 0) return;
        int inner = shape.length; // the innermost dims [inner, rank) are contiguous in the storage
        long runLength = 1;
        while (inner > 0 && (shape[inner - 1] == 1 || stride[inner - 1] == runLength)) {
            runLength *= shape[inner - 1];
            inner--;
        }
        long[] index = new long[inner];
        long from = offset;
        for (long done = 0; done < numel; done += runLength) {
            run.copy((int) done, from, (int) runLength);
            for (int d = inner - 1; d >= 0; d--) { // odometer over the outer dims
                if (++index[d] < shape[d]) {
                    from += stride[d];
                    break;
                }
                from -= stride[d] * (shape[d] - 1);
                index[d] = 0;
            }
        }
    }

    private String describe() {
        return "tensor '" + name + "' " + shapeString() + " in " + file;
    }

    /** A mapped page past the end of a file another process truncated faults; the JVM makes that an InternalError. */
    private UncheckedIOException changedWhileMapped(InternalError fault) {
        return new UncheckedIOException(new IOException(file + " was truncated or changed by another program while mnv3 "
                + "read it; read it again once nothing else writes it", fault));
    }
}
