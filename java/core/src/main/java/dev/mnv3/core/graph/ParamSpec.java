package dev.mnv3.core.graph;

import java.util.Arrays;

/**
 * A tensor the graph expects in its weights, by canonical (torchvision) name.
 *
 * @param trainable false for BatchNorm running statistics, which torchvision does not count as parameters
 */
public record ParamSpec(String name, int[] shape, boolean trainable) {
    public ParamSpec {
        shape = shape.clone();
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** Element count; the dimensions are ints, so four of them stay well within a long. */
    public long numel() {
        long n = 1;
        for (int d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    public static String shapeString(int[] shape) {
        return Arrays.toString(shape).replace(" ", "");
    }

    @Override
    public String toString() {
        return name + " " + shapeString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ParamSpec p && p.name.equals(name) && Arrays.equals(p.shape, shape) && p.trainable == trainable;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }
}
