package dev.mnv3.core.tensor;

import dev.mnv3.core.Arguments;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A dense host tensor in row-major order (NCHW for activations, NHWC for raw images) of one
 * element type: {@link DType#F32} (the default, a {@code float[]}), {@link DType#F16} and
 * {@link DType#BF16} (their 16-bit patterns in a {@code short[]}) or {@link DType#U8} (a
 * {@code byte[]}, read as unsigned). The array is shared, not copied: backends write into it,
 * callers must not resize it. A tensor may instead live in off-heap memory ({@link #segment()},
 * little-endian), such as the pinned buffers a GPU model hands out for DMA without a staging copy.
 */
public final class Tensor {
    private final int[] shape;
    private final DType dtype;
    private final float[] floats;
    private final short[] halves;
    private final byte[] bytes;
    private final MemorySegment segment;

    /** A float32 tensor. */
    public Tensor(int[] shape, float[] data) {
        this(shape, DType.F32, data, null, null, Arguments.notNull(data, "data", "a float[] of the tensor's values").length);
    }

    private Tensor(int[] shape, DType dtype, float[] floats, short[] halves, byte[] bytes, int length) {
        this(shape, dtype, floats, halves, bytes, null, length);
    }

    private Tensor(int[] shape, DType dtype, float[] floats, short[] halves, byte[] bytes, MemorySegment segment, long length) {
        long n = numel(shape);
        if (n != length) {
            throw new IllegalArgumentException("shape " + shapeString(shape) + " holds " + n + " values, data has " + length);
        }
        this.shape = shape.clone();
        this.dtype = dtype;
        this.floats = floats;
        this.halves = halves;
        this.bytes = bytes;
        this.segment = segment;
    }

    /**
     * A tensor of {@code dtype} over off-heap memory that the caller owns (it must outlive the
     * tensor's use): {@code segment} holds exactly its values, little-endian.
     */
    public static Tensor ofSegment(DType dtype, int[] shape, MemorySegment segment) {
        if (dtype == DType.I64) throw new IllegalArgumentException("no I64 tensors");
        if (segment.byteSize() % dtype.bytes != 0) {
            throw new IllegalArgumentException(segment.byteSize() + " bytes is not a whole number of " + dtype + " values");
        }
        if (!segment.isNative()) throw new IllegalArgumentException("an off-heap tensor needs native memory");
        return new Tensor(shape, dtype, null, null, null, segment, segment.byteSize() / dtype.bytes);
    }

    /** An F16 or BF16 tensor from its 16-bit patterns. */
    public static Tensor ofHalves(DType dtype, int[] shape, short[] bits) {
        if (dtype != DType.F16 && dtype != DType.BF16) throw new IllegalArgumentException(dtype + " is not a 16-bit float type");
        return new Tensor(shape, dtype, null, bits, null, Arguments.notNull(bits, "bits", "a short[] of the values' 16-bit patterns").length);
    }

    /** A U8 tensor, e.g. a batch of images [N, H, W, 3]; values are read as 0..255. */
    public static Tensor ofBytes(int[] shape, byte[] data) {
        return new Tensor(shape, DType.U8, null, null, data, Arguments.notNull(data, "data", "a byte[] of the tensor's values").length);
    }

    /** A zero float32 tensor, after checking that it fits in one Java array and in the heap. */
    public static Tensor zeros(int... shape) {
        return new Tensor(shape, new float[MemoryBudget.floatArray(numel(shape), () -> "a tensor " + shapeString(shape))]);
    }

    /** The element count, failing with the shape in the message when it overflows a long. */
    public static long numel(int[] shape) {
        Arguments.notNull(shape, "shape", "an int[] of dimensions");
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + shapeString(shape));
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new MemoryLimitException("a tensor " + shapeString(shape) + " has more than 2^63 elements");
            }
        }
        return n;
    }

    public DType dtype() {
        return dtype;
    }

    /** How many values are NaN or infinite (none in a U8 tensor). */
    public long countNonFinite() {
        if (segment != null) return toFloat().countNonFinite();
        long n = 0;
        switch (dtype) {
            case F32 -> {
                for (float v : floats) {
                    if (!Float.isFinite(v)) n++;
                }
            }
            case F16, BF16 -> {
                for (short v : halves) {
                    if (!Float.isFinite(dtype.decode(v))) n++;
                }
            }
            default -> { }
        }
        return n;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i];
    }

    /** The element count. */
    public int size() {
        if (segment != null) return Math.toIntExact(segment.byteSize() / dtype.bytes);
        return switch (dtype) {
            case F32 -> floats.length;
            case F16, BF16 -> halves.length;
            default -> bytes.length;
        };
    }

    /** The off-heap memory of a tensor that lives there, else null. */
    public MemorySegment segment() {
        return segment;
    }

    /** The backing array of a float32 tensor (other types: {@link #toFloat()} first). */
    public float[] data() {
        if (segment != null) throw new IllegalStateException("an off-heap tensor has no array; use segment(), or toFloat()");
        if (floats == null) throw new IllegalStateException("a " + dtype + " tensor has no float data; convert it with toFloat()");
        return floats;
    }

    /** The backing array of an F16 or BF16 tensor: the values' 16-bit patterns. */
    public short[] halves() {
        if (segment != null) throw new IllegalStateException("an off-heap tensor has no array; use segment()");
        if (halves == null) throw new IllegalStateException("a " + dtype + " tensor is not F16 or BF16");
        return halves;
    }

    /** The backing array of a U8 tensor. */
    public byte[] bytes() {
        if (segment != null) throw new IllegalStateException("an off-heap tensor has no array; use segment()");
        if (bytes == null) throw new IllegalStateException("a " + dtype + " tensor is not U8");
        return bytes;
    }

    /**
     * This tensor as float32 on the heap: itself when it is, else a converted copy (exact: every
     * F16, BF16 and U8 value is a float).
     */
    public Tensor toFloat() {
        if (segment != null) return onHeap().toFloat();
        if (dtype == DType.F32) return this;
        float[] f = new float[MemoryBudget.floatArray(size(), () -> "a float copy of a " + dtype + " tensor " + shapeString())];
        if (dtype == DType.U8) {
            for (int i = 0; i < f.length; i++) f[i] = bytes[i] & 0xff;
        } else {
            for (int i = 0; i < f.length; i++) f[i] = dtype.decode(halves[i]);
        }
        return new Tensor(shape, f);
    }

    /** This tensor in {@code type}: itself when it is, else a copy rounded to nearest even (float types only). */
    public Tensor to(DType type) {
        if (type == dtype) return this;
        if (type == DType.F32) return toFloat();
        if (type != DType.F16 && type != DType.BF16) throw new IllegalArgumentException("cannot convert to " + type);
        float[] f = toFloat().floats;
        short[] h = new short[f.length];
        for (int i = 0; i < f.length; i++) h[i] = type.encode(f[i]);
        return ofHalves(type, shape, h);
    }

    /** An off-heap tensor copied into a heap array of its type; a heap tensor itself. */
    public Tensor onHeap() {
        if (segment == null) return this;
        int n = size();
        return switch (dtype) {
            case F32 -> new Tensor(shape, segment.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN)));
            case F16, BF16 -> ofHalves(dtype, shape, segment.asSlice(0, 2L * n)
                    .toArray(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN)));
            default -> ofBytes(shape, segment.toArray(ValueLayout.JAVA_BYTE));
        };
    }

    /** The same data under another shape with the same element count. */
    public Tensor reshape(int... newShape) {
        return new Tensor(newShape, dtype, floats, halves, bytes, segment, size());
    }

    /** Images {@code from} (inclusive) to {@code to} (exclusive) of the leading dimension, copied. */
    public Tensor slice(int from, int to) {
        if (from < 0 || from > to || to > shape[0]) {
            throw new IllegalArgumentException("slice [" + from + ", " + to + ") of " + shapeString() + ", expected 0 <= from <= to <= "
                    + shape[0]);
        }
        if (segment != null) return onHeap().slice(from, to);
        int per = size() / shape[0];
        int[] s = shape.clone();
        s[0] = to - from;
        return switch (dtype) {
            case F32 -> new Tensor(s, Arrays.copyOfRange(floats, from * per, to * per));
            case F16, BF16 -> ofHalves(dtype, s, Arrays.copyOfRange(halves, from * per, to * per));
            default -> ofBytes(s, Arrays.copyOfRange(bytes, from * per, to * per));
        };
    }

    public String shapeString() {
        return shapeString(shape);
    }

    public static String shapeString(int[] shape) {
        return Arrays.toString(shape).replace(" ", "");
    }

    @Override
    public String toString() {
        return "Tensor" + shapeString() + (dtype == DType.F32 ? "" : " " + dtype) + (segment == null ? "" : " off-heap");
    }
}
