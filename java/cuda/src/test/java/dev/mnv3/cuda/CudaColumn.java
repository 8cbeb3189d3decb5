package dev.mnv3.cuda;

import dev.mnv3.core.Activation;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.FoldedConv;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.backend.SeWeights;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.SqueezeExcite;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.fast.OpTableTest;
import dev.mnv3.cuda.CudaCases.Case;
import dev.mnv3.cuda.exec.KernelLaunchers;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.LaunchGeometry;
import dev.mnv3.cuda.plan.Layouts;
import dev.mnv3.cuda.plan.PreprocessTaps;
import dev.mnv3.cuda.plan.StorageType;
import dev.mnv3.cuda.plan.WeightLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The CUDA column of the op table: each case run by the kernels through the real
 * {@link KernelLaunchers}, with the launches the executor makes for that op (exec/StepLaunches) on
 * weights laid out as {@link WeightLayout} lays them out, at one precision: float NCHW for FP32
 * and TF32, 16-bit NHWC for FP16 and BF16. Tensors come in and go out NCHW float. Every output is
 * NaN-poisoned first, and a write past its end fails the case.
 */
final class CudaColumn {
    private static final MemorySegment STREAM = MemorySegment.NULL;
    private static final List<Precision> ALL = List.of(Precision.values());
    private static final List<Precision> NO_TF32 = List.of(Precision.FP32, Precision.FP16, Precision.BF16);
    private static final List<Precision> HALF = List.of(Precision.FP16, Precision.BF16);

    private final KernelLaunchers k;
    private final HostArrays m;
    private final Arena args;
    private final Precision precision;
    private final StorageType s;

    CudaColumn(KernelLaunchers k, HostArrays m, Arena args, Precision precision) {
        this.k = k;
        this.m = m;
        this.args = args;
        this.precision = precision;
        this.s = StorageType.of(precision);
    }

    /**
     * The precisions the CUDA kernels run {@code c} at: TF32 only changes the 1x1 convs; the
     * layout and type conversions exist for the 16-bit types only; preprocessing writes float.
     */
    static List<Precision> precisions(Case c) {
        return switch (c) {
            case CudaCases.Shared shared -> switch (shared.op()) {
                case OpTableTest.Pointwise p -> ALL;
                case OpTableTest.SqueezeExciteFolded f -> ALL;
                case OpTableTest.Depthwise d -> NO_TF32;
                case OpTableTest.Stem st -> NO_TF32;
                case OpTableTest.SqueezeExciteScale se -> NO_TF32;
                case OpTableTest.AveragePool p -> NO_TF32;
                case OpTableTest.Dense d -> NO_TF32;
                default -> throw new AssertionError(shared.op() + ": an op of the CPU table that the CUDA column does not know;"
                        + " give it a case in CudaColumn (or an empty list if no CUDA kernel runs it)");
            };
            case CudaCases.BiasActivation b -> NO_TF32;
            case CudaCases.DepthwiseExcite d -> NO_TF32;
            case CudaCases.InputToNhwc t -> HALF;
            case CudaCases.Conversion cv -> HALF;
            case CudaCases.Preprocess p -> List.of(Precision.FP32);
        };
    }

    /** The kernels' output for input x. */
    Tensor run(Case c, Tensor x) {
        return switch (c) {
            case CudaCases.Shared shared -> switch (shared.op()) {
                case OpTableTest.Pointwise p -> pointwise(p, x);
                case OpTableTest.Depthwise d -> depthwise(d, x);
                case OpTableTest.Stem st -> stem(st, x);
                case OpTableTest.SqueezeExciteScale se -> squeezeExcite(se, x);
                case OpTableTest.SqueezeExciteFolded f -> squeezeExciteFolded(f, x);
                case OpTableTest.AveragePool p -> averagePool(p, x);
                case OpTableTest.Dense d -> dense(d, x);
                default -> throw new AssertionError("no CUDA launches for " + shared.op());
            };
            case CudaCases.BiasActivation b -> biasActivation(b, x);
            case CudaCases.DepthwiseExcite d -> depthwiseExcite(d, x);
            case CudaCases.InputToNhwc t -> inputToNhwc(t, x);
            case CudaCases.Conversion cv -> conversion(cv, x);
            case CudaCases.Preprocess p -> preprocess(p, x);
        };
    }

    // ---- the CPU table's ops

    /** 1x1 conv + bias + act (+ residual: the input itself). */
    private Tensor pointwise(OpTableTest.Pointwise op, Tensor x) {
        FoldedConv f = fold(op.conv());
        int n = x.dim(0), hw = op.h() * op.w();
        long in = input(x), y = output(n * op.cout() * hw);
        pointwise(in, f.weight(), f.bias(), op.residual() ? in : 0, 0, y, n, op.cin(), op.cout(), hw, op.act());
        return result(y, s, n, op.cout(), op.h(), op.w());
    }

    private Tensor depthwise(OpTableTest.Depthwise op, Tensor x) {
        ConvBnAct conv = op.conv();
        int n = x.dim(0);
        long y = depthwise(conv, input(x), n, op.h(), op.w(), 0);
        return result(y, s, n, op.c(), conv.outputSize(op.h()), conv.outputSize(op.w()));
    }

    /** The dense stem, which reads the float NCHW input in every plan. */
    private Tensor stem(OpTableTest.Stem op, Tensor x) {
        ConvBnAct conv = op.conv();
        FoldedConv f = fold(conv);
        int n = x.dim(0), oh = conv.outputSize(op.h()), ow = conv.outputSize(op.w()), total = n * op.cout() * oh * ow;
        long in = m.upload(x.data()), w = m.upload(f.weight()), bias = m.upload(f.bias()), y = output(total);
        if (s.isHalf()) {
            k.stem(args, STREAM, s, in, w, bias, y, n, op.cin(), op.h(), op.w(), op.cout(), oh, ow, op.kernel(), op.stride(),
                    conv.padding(), 1, op.act());
        } else {
            k.convNchw(args, STREAM, in, w, bias, y, op.cin(), op.h(), op.w(), op.cout(), oh, ow, op.kernel(), op.stride(),
                    conv.padding(), 1, op.act(), total);
        }
        return result(y, s, n, op.cout(), oh, ow);
    }

    /** The excitation's scales, then the map scaled in place. */
    private Tensor squeezeExcite(OpTableTest.SqueezeExciteScale op, Tensor x) {
        int n = x.dim(0), hw = op.h() * op.w();
        long map = input(x);
        scaleChannels(map, excitation(op.se(), map, n, hw), n, op.c(), hw);
        return result(map, s, n, op.c(), op.h(), op.w());
    }

    /** The excitation's scales, applied by the projection as it reads its input. */
    private Tensor squeezeExciteFolded(OpTableTest.SqueezeExciteFolded op, Tensor x) {
        FoldedConv f = fold(op.projection());
        int n = x.dim(0), hw = op.h() * op.w();
        long map = input(x), y = output(n * op.cout() * hw);
        long scale = excitation(new OpTableTest.SqueezeExciteScale(op.c(), op.sq(), op.h(), op.w()).se(), map, n, hw);
        pointwise(map, f.weight(), f.bias(), 0, scale, y, n, op.c(), op.cout(), hw, Activation.IDENTITY);
        return result(y, s, n, op.cout(), op.h(), op.w());
    }

    private Tensor averagePool(OpTableTest.AveragePool op, Tensor x) {
        int n = x.dim(0), c = op.c(), hw = op.h() * op.w();
        long in = input(x), y = output(n * c);
        if (s.isHalf()) k.globalAvgPoolNhwc(args, STREAM, s, in, y, n, c, hw, false);
        else k.globalAvgPool(args, STREAM, in, y, n * c, hw);
        return result(y, s, n, c, 1, 1);
    }

    /**
     * A linear layer: our linear kernel (float plans) or our 1x1 kernel over [rows, in] (16-bit
     * plans): with bias and activation fused for a hidden layer, or raw and then bias into float
     * for the logits (the layer without an activation), as the executor runs each.
     */
    private Tensor dense(OpTableTest.Dense op, Tensor x) {
        Weights wt = OpTableTest.weights(op.linear().parameters());
        float[] w = wt.data(op.linear().name() + ".weight");
        long bias = m.upload(wt.data(op.linear().name() + ".bias"));
        int rows = x.dim(0), in = op.in(), out = op.out();
        long input = input(x);
        if (!s.isHalf()) {
            long y = m.poisoned(rows * out);
            k.linear(args, STREAM, input, m.upload(w), bias, y, rows, in, out, op.act());
            return result(y, s, rows, out);
        }
        if (op.act() != Activation.IDENTITY) {
            long y = m.poisoned(s, rows * out);
            k.pointwise(args, STREAM, s, input, m.upload(s, w), bias, 0, 0, 1, y, rows, in, out, op.act());
            return result(y, s, rows, out);
        }
        long raw = m.poisoned(s, rows * out), logits = m.poisoned(rows * out);
        k.pointwise(args, STREAM, s, input, m.upload(s, w), 0, 0, 0, 1, raw, rows, in, out, Activation.IDENTITY);
        k.biasActNhwc(args, STREAM, s, raw, logits, bias, 0, out, (long) rows * out, op.act(), true);
        guard(raw, s, rows * out);
        return result(logits, StorageType.F32, rows, out);
    }

    // ---- the CUDA backend's own ops

    /** The epilogue of a cuDNN conv, in place on its raw output. */
    private Tensor biasActivation(CudaCases.BiasActivation op, Tensor x) {
        int n = x.dim(0), hw = op.h() * op.w(), total = n * op.c() * hw;
        long y = input(x), bias = m.upload(op.bias()), residual = op.residual() ? input(op.residualInput(n)) : 0;
        if (s.isHalf()) k.biasActNhwc(args, STREAM, s, y, y, bias, residual, op.c(), total, op.act(), false);
        else k.biasAct(args, STREAM, y, bias, residual, op.c(), hw, total, op.act());
        return result(y, s, n, op.c(), op.h(), op.w());
    }

    /** Depthwise conv, then the excitation: in 16-bit plans from the partial sums the depthwise kernel writes. */
    private Tensor depthwiseExcite(CudaCases.DepthwiseExcite op, Tensor x) {
        ConvBnAct conv = op.depthwise();
        int n = x.dim(0), c = op.c(), oh = conv.outputSize(op.h()), ow = conv.outputSize(op.w()), pixels = oh * ow;
        long y;
        long scale;
        if (s.isHalf()) {
            int chunks = LaunchGeometry.depthwiseNhwc(ForwardPlan.channelGroups(c), pixels, n, k.multiprocessors()).gridY();
            long partial = m.poisoned(n * chunks * c);
            y = depthwise(conv, input(x), n, op.h(), op.w(), partial);
            scale = m.poisoned(n * c);
            SeWeights w = SeWeights.of(op.se(), OpTableTest.weights(op.se().parameters()));
            k.seFc(args, STREAM, partial, chunks, pixels, m.upload(w.fc1Weight()), m.upload(w.fc1Bias()), m.upload(w.fc2Weight()),
                    m.upload(w.fc2Bias()), scale, n, c, op.sq());
            guard(partial, StorageType.F32, n * chunks * c);
            guard(scale, StorageType.F32, n * c);
        } else {
            y = depthwise(conv, input(x), n, op.h(), op.w(), 0);
            scale = excitation(op.se(), y, n, pixels);
        }
        scaleChannels(y, scale, n, c, pixels);
        return result(y, s, n, c, oh, ow);
    }

    /** The float NCHW input to 16-bit NHWC, channels padded with zeros. */
    private Tensor inputToNhwc(CudaCases.InputToNhwc op, Tensor x) {
        int n = x.dim(0), plane = op.h() * op.w(), total = n * op.padded() * plane;
        long y = m.poisoned(s, total);
        k.toNhwc(args, STREAM, s, m.upload(x.data()), y, op.c(), op.padded(), plane, total);
        return result(y, s, n, op.padded(), op.h(), op.w());
    }

    /** Float to the 16-bit type and back (the first half is how a 16-bit input arrives, the second how it is read). */
    private Tensor conversion(CudaCases.Conversion op, Tensor x) {
        int n = x.size();
        long half = m.poisoned(s, n), back = m.poisoned(n);
        k.convertFromFloat(args, STREAM, s.dtype(), m.upload(x.data()), half, n);
        k.convertToFloat(args, STREAM, s.dtype(), half, back, n);
        guard(half, s, n);
        return result(back, StorageType.F32, n);
    }

    /** The two resampling passes of an images plan, with its taps and its row range, into the float input. */
    private Tensor preprocess(CudaCases.Preprocess op, Tensor images) {
        int n = images.dim(0);
        ForwardPlan plan = ForwardPlan.of(Graph.of(MobileNetV3Config.small()), n, op.crop(), op.crop(), StorageType.F32,
                k.multiprocessors(), ForwardPlan.InputSpec.images(op.preprocessing(), op.h(), op.w()));
        ForwardPlan.Preprocess step = (ForwardPlan.Preprocess) plan.steps().getFirst();
        PreprocessTaps t = PreprocessTaps.of(plan);
        long taps = m.upload(t.image(args)), src = m.uploadBytes(images.bytes());
        int rowsTotal = (int) step.rows().elements(), total = n * 3 * op.crop() * op.crop();
        long rows = m.poisoned(rowsTotal), y = m.poisoned(total);
        k.preprocessRows(args, STREAM, src, taps + t.colFirst(), taps + t.colCount(), taps + t.colWeights(), t.maxColTaps(), rows,
                n, op.h(), op.w(), step.y0(), step.y1(), op.crop(), rowsTotal);
        k.preprocessCols(args, STREAM, rows, taps + t.rowFirst(), taps + t.rowCount(), taps + t.rowWeights(), t.maxRowTaps(), y,
                n, step.rows().h(), step.y0(), op.crop(), total);
        guard(rows, StorageType.F32, rowsTotal);
        return result(y, StorageType.F32, n, 3, op.crop(), op.crop());
    }

    // ---- launches shared by several ops

    /** A 1x1 conv on the kernel of the plan's layout; scale (an SE projection) 0 for none. */
    private void pointwise(long in, float[] weight, float[] bias, long residual, long scale, long y, int n, int cin, int cout,
                           int pixels, Activation act) {
        long b = m.upload(bias);
        if (s.isHalf()) {
            long w = m.upload(s, weight);
            k.pointwise(args, STREAM, s, in, w, b, residual, scale, pixels, y, (long) n * pixels, cin, cout, act);
        } else {
            k.pointwiseNchw(args, STREAM, precision == Precision.TF32, in, m.upload(weight), b, residual, scale, y, n, cin, cout,
                    pixels, act);
        }
    }

    /** A depthwise conv into a new output; partial: where the 16-bit kernel adds the SE partial sums, or 0. */
    private long depthwise(ConvBnAct conv, long in, int n, int h, int w, long partial) {
        FoldedConv f = fold(conv);
        int c = conv.outChannels(), oh = conv.outputSize(h), ow = conv.outputSize(w), kk = conv.kernel();
        long bias = m.upload(f.bias()), y = output(n * c * oh * ow);
        if (s.isHalf()) {
            long tapMajor = m.upload(WeightLayout.tapMajor(f.weight(), c, kk * kk));
            k.depthwiseNhwc(args, STREAM, s, in, tapMajor, bias, y, partial, n, c, h, w, oh, ow, kk, conv.stride(), conv.padding(),
                    conv.dilation(), conv.activation());
        } else {
            k.depthwise(args, STREAM, in, m.upload(f.weight()), bias, y, c, h, w, oh, ow, kk, conv.stride(), conv.padding(),
                    conv.dilation(), conv.activation(), (long) n * c * oh * ow);
        }
        return y;
    }

    /**
     * The SE scales [n, c] of a map: in float plans pool, fc1 + ReLU, fc2 + h-sigmoid; in 16-bit
     * plans the pool into float and mnv3_se_fc over one chunk of one pixel per channel (the means
     * are the sums over such a chunk).
     */
    private long excitation(SqueezeExcite se, long map, int n, int pixels) {
        SeWeights w = SeWeights.of(se, OpTableTest.weights(se.parameters()));
        int c = se.channels(), sq = se.squeezeChannels();
        long w1 = m.upload(w.fc1Weight()), b1 = m.upload(w.fc1Bias()), w2 = m.upload(w.fc2Weight()), b2 = m.upload(w.fc2Bias());
        long pooled = m.poisoned(n * c), scale = m.poisoned(n * c);
        if (s.isHalf()) {
            k.globalAvgPoolNhwc(args, STREAM, s, map, pooled, n, c, pixels, true);
            k.seFc(args, STREAM, pooled, 1, 1, w1, b1, w2, b2, scale, n, c, sq);
        } else {
            long hidden = m.poisoned(n * sq);
            k.globalAvgPool(args, STREAM, map, pooled, n * c, pixels);
            k.linear(args, STREAM, pooled, w1, b1, hidden, n, c, sq, Activation.RELU);
            k.linear(args, STREAM, hidden, w2, b2, scale, n, sq, c, Activation.HARDSIGMOID);
            guard(hidden, StorageType.F32, n * sq);
        }
        guard(pooled, StorageType.F32, n * c);
        guard(scale, StorageType.F32, n * c);
        return scale;
    }

    private void scaleChannels(long map, long scale, int n, int c, int pixels) {
        if (s.isHalf()) k.channelScaleNhwc(args, STREAM, s, map, scale, c, pixels, (long) n * pixels * c);
        else k.channelScale(args, STREAM, map, scale, pixels, (long) n * c * pixels);
    }

    // ---- memory in the plan's layout and type

    /** x (NCHW, or [rows, features]) as the plan stores activations: float NCHW, or NHWC in the 16-bit type. */
    private long input(Tensor x) {
        if (!s.isHalf()) return m.upload(x.data());
        int n = x.dim(0), c = x.dim(1), plane = x.size() / (n * c);
        return m.upload(s, Layouts.channelsLast(x.data(), n, c, c, plane));
    }

    /** An output of the plan's type, NaN-poisoned. */
    private long output(int elements) {
        return s.isHalf() ? m.poisoned(s, elements) : m.poisoned(elements);
    }

    /**
     * The {@code type} values at y as an NCHW float tensor of {@code shape} (16-bit plans store
     * NHWC), after checking that nothing was written past them.
     */
    private Tensor result(long y, StorageType type, int... shape) {
        int size = (int) Tensor.numel(shape);
        guard(y, type, size);
        float[] v = type.isHalf() ? m.download(type, y, size) : m.download(y, size);
        int plane = shape.length == 4 ? shape[2] * shape[3] : 1;
        // [n, plane, c] -> [n, c, plane]: the same transpose, with the roles of c and plane swapped
        if (s.isHalf() && plane > 1) v = Layouts.channelsLast(v, shape[0], plane, plane, shape[1]);
        return new Tensor(shape, v);
    }

    private void guard(long p, StorageType type, int n) {
        if (!(type.isHalf() ? m.guardIntact(type, p, n) : m.guardIntact(p, n))) {
            throw new AssertionError("a kernel wrote past the end of an array of " + n + " " + type + " values");
        }
    }

    private static FoldedConv fold(ConvBnAct conv) {
        return FoldedConv.fold(conv, OpTableTest.weights(conv.parameters()), OpTableTest.EPS);
    }
}
