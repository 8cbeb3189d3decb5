package dev.mnv3.cpu;

import dev.mnv3.core.Activation;
import dev.mnv3.core.backend.FoldedConv;
import dev.mnv3.core.tensor.Tensor;

/**
 * The reference backend's ops, one by one, for tests in other packages (the fast kernels' op
 * table): {@link ReferenceOps} stays package-private in the library.
 */
public final class ReferenceOpsForTests {
    private ReferenceOpsForTests() {
    }

    public static Tensor conv(Tensor x, FoldedConv f) {
        return ReferenceOps.conv(x, f);
    }

    public static void squeezeExcite(Tensor x, float[] w1, float[] b1, float[] w2, float[] b2) {
        ReferenceOps.squeezeExcite(x, w1, b1, w2, b2);
    }

    public static void addInPlace(Tensor y, Tensor x) {
        ReferenceOps.addInPlace(y, x);
    }

    public static Tensor globalAvgPool(Tensor x) {
        return ReferenceOps.globalAvgPool(x);
    }

    public static Tensor linear(Tensor x, float[] w, float[] b, Activation act) {
        return ReferenceOps.linear(x, w, b, act);
    }
}
