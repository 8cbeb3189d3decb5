package dev.mnv3.core.tensor;

import java.util.Arrays;

/**
 * A dense float32 tensor in row-major order (NCHW for activations). The data array is shared,
 * not copied: backends write into it, callers must not resize it.
 */
public final class Tensor {
    private final int[] shape;
    private final float[] data;

    public Tensor(int[] shape, float[] data) {
        long n = numel(shape);
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + shapeString(shape) + " holds " + n + " values, data has " + data.length);
        }
        this.shape = shape.clone();
        this.data = data;
    }

    /** A zero tensor, after checking that it fits in one Java array and in the heap. */
    public static Tensor zeros(int... shape) {
        return new Tensor(shape, new float[MemoryBudget.floatArray(numel(shape), () -> "a tensor " + shapeString(shape))]);
    }

    /** The element count, failing with the shape in the message when it overflows a long. */
    public static long numel(int[] shape) {
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

    /** How many values are NaN or infinite. */
    public long countNonFinite() {
        long n = 0;
        for (float v : data) {
            if (!Float.isFinite(v)) n++;
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

    public int size() {
        return data.length;
    }

    /** The backing array. */
    public float[] data() {
        return data;
    }

    /** The same data under another shape with the same element count. */
    public Tensor reshape(int... newShape) {
        return new Tensor(newShape, data);
    }

    /** Images {@code from} (inclusive) to {@code to} (exclusive) of the leading dimension, copied. */
    public Tensor slice(int from, int to) {
        int per = data.length / shape[0];
        int[] s = shape.clone();
        s[0] = to - from;
        return new Tensor(s, Arrays.copyOfRange(data, from * per, to * per));
    }

    public String shapeString() {
        return shapeString(shape);
    }

    public static String shapeString(int[] shape) {
        return Arrays.toString(shape).replace(" ", "");
    }

    @Override
    public String toString() {
        return "Tensor" + shapeString();
    }
}
