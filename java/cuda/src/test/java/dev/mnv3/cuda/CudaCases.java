package dev.mnv3.cuda;

import dev.mnv3.core.Activation;
import dev.mnv3.core.backend.FoldedConv;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.backend.SeWeights;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.SqueezeExcite;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.cpu.ReferenceOpsForTests;
import dev.mnv3.cpu.fast.OpTableTest;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.StorageType;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The rows of the CUDA op table, backend-neutral: each case's input and the reference's answer.
 * The CPU op table's cases come in whole ({@link Shared}); the others are ops only the CUDA
 * backend has. How each runs on the kernels is {@link CudaColumn}'s.
 */
final class CudaCases {
    private CudaCases() {
    }

    /**
     * One op at one shape: an input and what the reference makes of it. Inputs may be stacked on
     * their leading dimension (images, rows, values) and run as one: the kernels and the reference
     * treat each on its own.
     */
    sealed interface Case {
        Tensor input(SplittableRandom rnd);

        /** The reference's output at {@code p}; only the exact cases depend on p (the type they round to). */
        Tensor reference(Tensor x, Precision p);

        /** The kernels must give the reference's values bit for bit, not within a tolerance. */
        default boolean exact() {
            return false;
        }

        /** Another input for the guard: x plus Gaussian noise of {@code sigma}. */
        default Tensor moved(Tensor x, SplittableRandom rnd, double sigma) {
            float[] m = x.data().clone();
            for (int i = 0; i < m.length; i++) m[i] += (float) (sigma * rnd.nextGaussian());
            return new Tensor(x.shape(), m);
        }
    }

    /** Every case, CPU table first. */
    static List<Case> all() {
        List<Case> cases = new ArrayList<>();
        for (var op : OpTableTest.ops()) cases.add(new Shared(emulated(op.getPayload())));
        // channel counts that are not multiples of 8, which no feature map has (Graph rounds them) but
        // which the CUDA kernels' one-channel variants serve (e.g. a classifier of 10 classes)
        cases.add(new Shared(new OpTableTest.Pointwise(13, 21, 5, 3, Activation.HARDSWISH, false)));
        Activation[] acts = Activation.values();
        int n = 0;
        for (int kernel : new int[] {3, 5}) {
            for (int stride : new int[] {1, 2}) {
                cases.add(new Shared(new OpTableTest.Depthwise(13, 7, 6, kernel, stride, 1, acts[n++ % acts.length])));
            }
        }
        cases.add(new Shared(new OpTableTest.Stem(3, 13, 3, 2, 9, 11, Activation.RELU)));
        cases.add(new Shared(new OpTableTest.SqueezeExciteScale(13, 8, 5, 3)));
        cases.add(new Shared(new OpTableTest.SqueezeExciteFolded(13, 8, 21, 3, 3)));
        cases.add(new Shared(new OpTableTest.AveragePool(13, 4, 4)));
        for (Activation act : Activation.values()) {
            cases.add(new BiasActivation(24, 5, 7, act, act.ordinal() % 2 == 0));
            cases.add(new BiasActivation(13, 3, 5, act, act.ordinal() % 2 == 1));
        }
        cases.add(new DepthwiseExcite(72, 24, 9, 7, 5, 2));
        cases.add(new DepthwiseExcite(40, 16, 7, 6, 3, 1));
        cases.add(new DepthwiseExcite(13, 8, 5, 4, 3, 1));
        cases.add(new InputToNhwc(3, 9, 7));
        cases.add(new InputToNhwc(16, 3, 2));
        cases.add(new Conversion(3001));
        cases.add(new Preprocess(2, 37, 50, 36, 32));
        cases.add(new Preprocess(1, 40, 19, 34, 32));
        return cases;
    }

    /**
     * The CPU table's op as the emulator runs it: a linear layer keeps its inputs and batch but
     * has at most {@value #EMULATED_OUTPUTS} outputs (a 64-wide tile and a tail), as native/test's
     * linear tests do: the classifier's 1000 would cost the emulator, one thread per CUDA thread, a
     * minute of the build.
     */
    static OpTableTest.Op emulated(OpTableTest.Op op) {
        return op instanceof OpTableTest.Dense d && d.out() > EMULATED_OUTPUTS
                ? new OpTableTest.Dense(d.in(), EMULATED_OUTPUTS, d.batch(), d.act()) : op;
    }

    static final int EMULATED_OUTPUTS = 104;

    /**
     * An op of the CPU op table's kinds (its cases, and shapes only the CUDA kernels take), on two
     * of its inputs at once (stacked on the leading dimension), so that the kernels' per-image
     * indexing is exercised; the reference answers each.
     */
    record Shared(OpTableTest.Op op) implements Case {
        @Override
        public Tensor input(SplittableRandom rnd) {
            return stack(op.input(rnd), op.input(rnd));
        }

        /** The reference on each of the op's own inputs in x (one image, or a linear layer's batch). */
        @Override
        public Tensor reference(Tensor x, Precision p) {
            int each = op instanceof OpTableTest.Dense d ? d.batch() : 1;
            Tensor y = op.reference(x.slice(0, each));
            for (int i = each; i < x.dim(0); i += each) y = stack(y, op.reference(x.slice(i, i + each)));
            return y;
        }

        @Override
        public String toString() {
            return op + " x 2";
        }
    }

    /**
     * What follows a cuDNN convolution: its raw output x + the conv's bias, the activation, and
     * (a bottleneck's projection) the block input added after it.
     */
    record BiasActivation(int c, int h, int w, Activation act, boolean residual) implements Case {
        @Override
        public Tensor input(SplittableRandom rnd) {
            return gaussian(rnd, 2, c, h, w);
        }

        float[] bias() {
            return gaussian(new SplittableRandom(c), c).data();
        }

        /** The block input added to n images. */
        Tensor residualInput(int n) {
            return gaussian(new SplittableRandom(h * w), n, c, h, w);
        }

        @Override
        public Tensor reference(Tensor x, Precision p) {
            float[] y = x.data().clone();
            CpuOps.biasAct(y, bias(), residual ? residualInput(x.dim(0)).data() : null, c, h * w, y.length, act);
            return new Tensor(x.shape(), y);
        }

        @Override
        public String toString() {
            return "bias-act" + (residual ? "+residual" : "") + " [" + c + "ch " + h + "x" + w + " " + act + "]";
        }
    }

    /**
     * The middle of an SE bottleneck: the depthwise conv, then the excitation of its output, which
     * the 16-bit kernels compute from the partial sums the depthwise kernel writes.
     */
    record DepthwiseExcite(int c, int sq, int h, int w, int kernel, int stride) implements Case {
        ConvBnAct depthwise() {
            return new ConvBnAct("dw", c, c, kernel, stride, 1, c, Activation.HARDSWISH);
        }

        SqueezeExcite se() {
            return new SqueezeExcite("se", c, sq);
        }

        @Override
        public Tensor input(SplittableRandom rnd) {
            return gaussian(rnd, 2, c, h, w);
        }

        @Override
        public Tensor reference(Tensor x, Precision p) {
            Tensor y = ReferenceOpsForTests.conv(x, FoldedConv.fold(depthwise(), OpTableTest.weights(depthwise().parameters()),
                    OpTableTest.EPS));
            SeWeights s = SeWeights.of(se(), OpTableTest.weights(se().parameters()));
            ReferenceOpsForTests.squeezeExcite(y, s.fc1Weight(), s.fc1Bias(), s.fc2Weight(), s.fc2Bias());
            return y;
        }

        @Override
        public String toString() {
            return "depthwise+se [" + kernel + "x" + kernel + " s" + stride + " " + c + ">" + sq + " " + h + "x" + w + "]";
        }
    }

    /** The float NCHW input batch to the 16-bit NHWC layout, channels zero-padded to a multiple of 8. */
    record InputToNhwc(int c, int h, int w) implements Case {
        int padded() {
            return (c + ForwardPlan.NHWC_CHANNEL_ALIGN - 1) / ForwardPlan.NHWC_CHANNEL_ALIGN * ForwardPlan.NHWC_CHANNEL_ALIGN;
        }

        @Override
        public Tensor input(SplittableRandom rnd) {
            return gaussian(rnd, 2, c, h, w);
        }

        /** [n, padded, h, w]: x rounded to p's storage type, zeros past its channels. */
        @Override
        public Tensor reference(Tensor x, Precision p) {
            int n = x.dim(0), plane = h * w, padded = padded();
            float[] y = new float[n * padded * plane];
            for (int b = 0; b < n; b++) {
                for (int i = 0; i < c * plane; i++) y[b * padded * plane + i] = StorageType.of(p).round(x.data()[b * c * plane + i]);
            }
            return new Tensor(new int[] {n, padded, h, w}, y);
        }

        @Override
        public boolean exact() {
            return true;
        }

        @Override
        public String toString() {
            return "input-to-nhwc [" + c + ">" + padded() + "ch " + h + "x" + w + "]";
        }
    }

    /** A float tensor to 16 bits and back, rounded to nearest even as the host rounds. */
    record Conversion(int n) implements Case {
        /** Gaussians over many binades, with the edges: subnormals, the largest finite F16. */
        @Override
        public Tensor input(SplittableRandom rnd) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(-30, 12)));
            v[0] = 1e-40f;
            v[1] = -65504f;
            v[2] = 0.1f;
            return new Tensor(new int[] {n}, v);
        }

        @Override
        public Tensor reference(Tensor x, Precision p) {
            return x.to(StorageType.of(p).dtype()).toFloat();
        }

        @Override
        public boolean exact() {
            return true;
        }

        @Override
        public String toString() {
            return "convert [" + n + " floats, there and back]";
        }
    }

    /** U8 images [n, h, w, 3] resized and center-cropped, then normalized, as the host's {@link Preprocessing} does. */
    record Preprocess(int n, int h, int w, int resize, int crop) implements Case {
        Preprocessing preprocessing() {
            return new Preprocessing(resize, crop);
        }

        @Override
        public Tensor input(SplittableRandom rnd) {
            byte[] px = new byte[n * h * w * 3];
            rnd.nextBytes(px);
            return Tensor.ofBytes(new int[] {n, h, w, 3}, px);
        }

        @Override
        public Tensor reference(Tensor images, Precision p) {
            return preprocessing().apply(images);
        }

        @Override
        public boolean exact() {
            return true;
        }

        /** Noise on the pixels, clamped to 0..255. */
        @Override
        public Tensor moved(Tensor images, SplittableRandom rnd, double sigma) {
            byte[] px = images.bytes().clone();
            for (int i = 0; i < px.length; i++) {
                px[i] = (byte) Math.clamp((px[i] & 0xff) + Math.round(64 * sigma * rnd.nextGaussian()), 0, 255);
            }
            return Tensor.ofBytes(images.shape(), px);
        }

        @Override
        public String toString() {
            return "preprocess [" + n + " images " + h + "x" + w + " resize " + resize + " crop " + crop + "]";
        }
    }

    static Tensor gaussian(SplittableRandom rnd, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) rnd.nextGaussian();
        return t;
    }

    /** a and b, one after the other on the leading dimension (U8 stays U8). */
    static Tensor stack(Tensor a, Tensor b) {
        int[] shape = a.shape();
        shape[0] += b.dim(0);
        if (a.dtype() == DType.U8) {
            byte[] d = new byte[a.size() + b.size()];
            System.arraycopy(a.bytes(), 0, d, 0, a.size());
            System.arraycopy(b.bytes(), 0, d, a.size(), b.size());
            return Tensor.ofBytes(shape, d);
        }
        float[] d = new float[a.size() + b.size()];
        System.arraycopy(a.data(), 0, d, 0, a.size());
        System.arraycopy(b.data(), 0, d, a.size(), b.size());
        return new Tensor(shape, d);
    }
}
