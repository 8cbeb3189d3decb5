package dev.mnv3.cuda.exec;

import dev.mnv3.core.Activation;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.ForwardPlan.Conv;
import dev.mnv3.cuda.plan.ForwardPlan.Ref;
import dev.mnv3.cuda.plan.LaunchGeometry;
import dev.mnv3.cuda.plan.PreprocessTaps;
import dev.mnv3.cuda.plan.StorageType;
import dev.mnv3.cuda.plan.WeightLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * Turns each step of a {@link ForwardPlan} into the launches that run it, with every address (the
 * step's buffers, its weights through their {@link WeightLayout} slots) resolved once, here. One
 * case per step kind and no decisions: {@link dev.mnv3.cuda.plan.Lowering} made them all.
 */
final class StepLaunches {
    /** The kernel launches (or cuDNN calls) of one step, enqueued on the lane's stream. */
    @FunctionalInterface
    interface Launch {
        void enqueue(Arena args);
    }

    private static final Launch NOTHING = args -> { };

    private final KernelLaunchers k;
    private final MemorySegment stream;
    private final ModelResources model;
    private final Lane lane;
    private final PlanMemory memory;
    private final StorageType storage;
    private final Map<ConvBnAct, CudnnConv> cudnn;
    private final boolean nhwc;
    /** The caller's input type, which a {@link ForwardPlan.ToFloat} widens. */
    private final dev.mnv3.core.tensor.DType inputType;

    StepLaunches(Lane lane, PlanMemory memory, ForwardPlan plan, Map<ConvBnAct, CudnnConv> cudnn) {
        this.lane = lane;
        this.model = lane.shared;
        this.k = model.runtime().kernels;
        this.stream = lane.stream;
        this.memory = memory;
        this.storage = plan.storage();
        this.nhwc = plan.nhwc();
        this.inputType = plan.inputSpec().dtype();
        this.cudnn = cudnn;
    }

    /** The launches of {@code step} ({@link ForwardPlan.Output}: none). */
    Launch of(ForwardPlan.Step step) {
        return switch (step) {
            case ForwardPlan.ToFloat t -> {
                long raw = ptr(t.raw()), out = ptr(t.out()), n = t.out().elements();
                yield args -> k.convertToFloat(args, stream, inputType, raw, out, n);
            }
            case ForwardPlan.Preprocess p -> preprocess(p);
            case ForwardPlan.ToNhwc t -> {
                long in = ptr(t.in()), out = ptr(t.out());
                yield args -> k.toNhwc(args, stream, storage, in, out, t.in().c(), t.out().c(), t.out().plane(), t.out().elements());
            }
            case Conv c when c.ours() -> ours(c);
            case Conv c -> cudnn(c);
            case ForwardPlan.Excite e -> excite(e);
            case ForwardPlan.ExciteFused e -> exciteFused(e);
            case ForwardPlan.Pool p -> {
                long in = ptr(p.in()), out = ptr(p.out());
                Ref i = p.in();
                boolean toFloat = p.out().buffer() == ForwardPlan.Buffer.LOGITS;
                yield nhwc ? args -> k.globalAvgPoolNhwc(args, stream, storage, in, out, i.n(), i.c(), i.plane(), toFloat)
                        : args -> k.globalAvgPool(args, stream, in, out, i.n() * i.c(), i.plane());
            }
            case ForwardPlan.Dense d -> dense(d);
            case ForwardPlan.Output o -> NOTHING;
        };
    }

    /** Raw images to the float input: the horizontal pass into the rows buffer, then the vertical pass. */
    private Launch preprocess(ForwardPlan.Preprocess p) {
        Ref img = p.images(), rows = p.rows(), out = p.out();
        PreprocessTaps t = memory.preprocessTaps;
        long taps = memory.taps(), src = ptr(img), mid = ptr(rows), dst = ptr(out);
        return args -> {
            k.preprocessRows(args, stream, src, taps + t.colFirst(), taps + t.colCount(), taps + t.colWeights(), t.maxColTaps(),
                    mid, img.n(), img.h(), img.w(), p.y0(), p.y1(), out.w(), rows.elements());
            k.preprocessCols(args, stream, mid, taps + t.rowFirst(), taps + t.rowCount(), taps + t.rowWeights(), t.maxRowTaps(),
                    dst, img.n(), rows.h(), p.y0(), out.w(), out.elements());
        };
    }

    /** pool, fc1 + ReLU, fc2 + h-sigmoid, and the in-place scale unless the projection applies it. */
    private Launch excite(ForwardPlan.Excite e) {
        WeightLayout.SeSlots s = model.weights().layout().se(e.se());
        long x = ptr(e.x()), pooled = ptr(e.pooled()), hidden = ptr(e.hidden()), scale = ptr(e.scale());
        long w1 = weight(s.fc1Weight()), b1 = weight(s.fc1Bias()), w2 = weight(s.fc2Weight()), b2 = weight(s.fc2Bias());
        Ref r = e.x();
        return args -> {
            k.globalAvgPool(args, stream, x, pooled, r.n() * r.c(), r.plane());
            k.linear(args, stream, pooled, w1, b1, hidden, r.n(), e.pooled().c(), e.hidden().c(), Activation.RELU);
            k.linear(args, stream, hidden, w2, b2, scale, r.n(), e.hidden().c(), e.scale().c(), Activation.HARDSIGMOID);
            if (e.scales()) k.channelScale(args, stream, x, scale, r.plane(), r.elements());
        };
    }

    /** Both FCs from the depthwise conv's partial sums in one kernel, then the scale unless the projection applies it. */
    private Launch exciteFused(ForwardPlan.ExciteFused e) {
        WeightLayout.SeSlots s = model.weights().layout().se(e.se());
        long x = ptr(e.x()), partial = ptr(e.partial()), scale = ptr(e.scale());
        long w1 = weight(s.fc1Weight()), b1 = weight(s.fc1Bias()), w2 = weight(s.fc2Weight()), b2 = weight(s.fc2Bias());
        Ref r = e.x();
        return args -> {
            k.seFc(args, stream, partial, e.partial().h(), r.plane(), w1, b1, w2, b2, scale, r.n(), e.se().channels(),
                    e.se().squeezeChannels());
            if (e.scales()) k.channelScaleNhwc(args, stream, storage, x, scale, r.c(), r.plane(), r.elements());
        };
    }

    /**
     * A linear layer: our linear kernel (NCHW plans), or our 1x1 kernel over [N, in] (NHWC plans):
     * into its output with the bias and activation fused, or, for the float logits, raw into
     * {@code raw} and then bias + activation into float.
     */
    private Launch dense(ForwardPlan.Dense d) {
        WeightLayout.DenseSlots s = model.weights().layout().dense(d.linear());
        long in = ptr(d.in()), out = ptr(d.out()), w = weight(s.weight()), bias = weight(s.bias());
        Activation act = d.linear().activation();
        Ref i = d.in(), o = d.out();
        if (d.raw() == null) {
            int features = (int) (i.elements() / i.n());
            return args -> k.linear(args, stream, in, w, bias, out, i.n(), features, o.c(), act);
        }
        long raw = ptr(d.raw());
        Ref r = d.raw();
        if (d.out() == d.raw()) return args -> k.pointwise(args, stream, storage, in, w, bias, 0, 0, 1, raw, i.n(), i.c(), r.c(), act);
        return args -> {
            k.pointwise(args, stream, storage, in, w, 0, 0, 0, 1, raw, i.n(), i.c(), r.c(), Activation.IDENTITY);
            k.biasActNhwc(args, stream, storage, raw, out, bias, 0, o.c(), o.elements(), act, true);
        };
    }

    /** cuDNN's conv into the output, then our bias + activation (+ residual) epilogue in place. */
    private Launch cudnn(Conv c) {
        ConvBnAct conv = c.conv();
        Launch forward = cudnnForward(c);
        long out = ptr(c.out()), bias = weight(slots(conv).bias()), residual = c.residual() == null ? 0 : ptr(c.residual());
        Ref o = c.out();
        return nhwc ? args -> {
            forward.enqueue(args);
            k.biasActNhwc(args, stream, storage, out, out, bias, residual, o.c(), o.elements(), conv.activation(), false);
        } : args -> {
            forward.enqueue(args);
            k.biasAct(args, stream, out, bias, residual, o.c(), o.plane(), o.elements(), conv.activation());
        };
    }

    /** cuDNN's half of a conv alone: into its output, raw (timed by itself when algorithms are chosen). */
    Launch cudnnForward(Conv c) {
        CudnnConv cc = cudnn.get(c.conv());
        if (cc == null) throw new IllegalStateException(c.conv().name() + ": the plan gives it to cuDNN, which has no descriptors for it");
        long in = ptr(c.in()), w = weight(slots(c.conv()).cudnnWeight()), out = ptr(c.out());
        long ws = memory.workspace(), wsBytes = memory.workspaceBytes;
        return args -> cc.forward(lane.cudnn, model.alphaBeta(), in, w, out, ws, wsBytes);
    }

    /**
     * Our kernel: the depthwise conv; the 1x1 conv with its epilogue (and any SE scale) fused; the
     * stem from the float input (FP16/BF16) or a dense k x k conv (float plans).
     */
    private Launch ours(Conv c) {
        ConvBnAct conv = c.conv();
        WeightLayout.ConvSlots s = slots(conv);
        long in = ptr(c.in()), out = ptr(c.out()), w = weight(s.weight()), bias = weight(s.bias());
        long residual = c.residual() == null ? 0 : ptr(c.residual()), scale = c.scale() == null ? 0 : ptr(c.scale());
        Ref i = c.in(), o = c.out();
        Activation act = conv.activation();
        if (conv.isDepthwise()) return depthwise(c, in, w, bias, out);
        if (conv.isPointwise() && nhwc) {
            return args -> k.pointwise(args, stream, storage, in, w, bias, residual, scale, i.plane(), out,
                    (long) i.n() * i.plane(), i.c(), o.c(), act);
        }
        if (conv.isPointwise()) {
            boolean tf32 = model.precision() == Precision.TF32;
            return args -> k.pointwiseNchw(args, stream, tf32, in, w, bias, residual, scale, out, i.n(), i.c(), o.c(), i.plane(), act);
        }
        if (residual != 0) throw new IllegalStateException(conv.name() + ": our dense k x k conv adds no residual");
        if (nhwc) { // the stem, reading the float NCHW input and float weights
            long floatW = weight(s.floatStemWeight());
            return args -> k.stem(args, stream, storage, in, floatW, bias, out, i.n(), i.c(), i.h(), i.w(), o.c(), o.h(), o.w(),
                    conv.kernel(), conv.stride(), conv.padding(), conv.dilation(), act);
        }
        return args -> k.convNchw(args, stream, in, w, bias, out, i.c(), i.h(), i.w(), o.c(), o.h(), o.w(), conv.kernel(),
                conv.stride(), conv.padding(), conv.dilation(), act, o.elements());
    }

    private Launch depthwise(Conv c, long in, long w, long bias, long out) {
        ConvBnAct conv = c.conv();
        Ref i = c.in(), o = c.out();
        if (!nhwc) {
            return args -> k.depthwise(args, stream, in, w, bias, out, i.c(), i.h(), i.w(), o.h(), o.w(), conv.kernel(),
                    conv.stride(), conv.padding(), conv.dilation(), conv.activation(), o.elements());
        }
        long partial = c.partial() == null ? 0 : ptr(c.partial());
        return args -> {
            LaunchGeometry.Launch l = k.depthwiseNhwc(args, stream, storage, in, w, bias, out, partial, o.n(), o.c(), i.h(), i.w(),
                    o.h(), o.w(), conv.kernel(), conv.stride(), conv.padding(), conv.dilation(), conv.activation());
            if (c.partial() != null && l.gridY() != c.partial().h()) {
                throw new IllegalStateException(conv.name() + ": the depthwise launch has " + l.gridY()
                        + " pixel chunks but the plan sized " + c.partial().h() + " partial sums");
            }
        };
    }

    private WeightLayout.ConvSlots slots(ConvBnAct conv) {
        return model.weights().layout().conv(conv);
    }

    private long weight(long offset) {
        return model.weights().address(offset);
    }

    private long ptr(Ref r) {
        return memory.address(r);
    }
}
