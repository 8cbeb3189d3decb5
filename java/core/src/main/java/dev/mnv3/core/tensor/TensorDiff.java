package dev.mnv3.core.tensor;

import java.util.Arrays;

/**
 * How far {@code actual} is from {@code reference}: relative L2 error ||a - r|| / ||r|| and the
 * max absolute error, also scaled by max |r| (docs/numerics.md). NaN anywhere makes both errors NaN,
 * which fails every tolerance check.
 */
public record TensorDiff(double relL2, double maxAbs, double maxAbsRef) {

    public static TensorDiff of(Tensor actual, Tensor reference) {
        if (!Arrays.equals(actual.shape(), reference.shape())) {
            throw new IllegalArgumentException("shape " + actual.shapeString() + " differs from reference " + reference.shapeString());
        }
        return of(actual.data(), reference.data());
    }

    public static TensorDiff of(float[] a, float[] r) {
        if (a.length != r.length) throw new IllegalArgumentException("lengths differ: " + a.length + " vs " + r.length);
        double num = 0, den = 0, maxAbs = 0, maxRef = 0;
        boolean nan = false;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - r[i];
            if (Double.isNaN(d) || Double.isInfinite(d)) nan = true;
            num += d * d;
            den += (double) r[i] * r[i];
            maxAbs = Math.max(maxAbs, Math.abs(d));
            maxRef = Math.max(maxRef, Math.abs(r[i]));
        }
        if (nan) return new TensorDiff(Double.NaN, Double.NaN, maxRef);
        double rel = den > 0 ? Math.sqrt(num / den) : (num > 0 ? Double.POSITIVE_INFINITY : 0);
        return new TensorDiff(rel, maxAbs, maxRef);
    }

    /** Max absolute error divided by max |reference|. */
    public double maxAbsScaled() {
        return maxAbsRef > 0 ? maxAbs / maxAbsRef : maxAbs;
    }

    /** True when the relative L2 error is within {@code tolerance} (and finite). */
    public boolean within(double tolerance) {
        return relL2 <= tolerance;
    }
}
