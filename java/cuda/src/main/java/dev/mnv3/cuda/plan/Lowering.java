package dev.mnv3.cuda.plan;

import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.GlobalAvgPool;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.core.graph.SqueezeExcite;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.cuda.plan.ForwardPlan.Buffer;
import dev.mnv3.cuda.plan.ForwardPlan.Conv;
import dev.mnv3.cuda.plan.ForwardPlan.Ref;
import dev.mnv3.cuda.plan.ForwardPlan.Step;
import dev.mnv3.cuda.plan.KernelChoice.Impl;
import java.util.ArrayList;
import java.util.List;

/**
 * Lowers a graph at one input shape to the {@link ForwardPlan} the device runs, making every
 * decision there is: how the caller's input becomes the float input, who runs each conv
 * ({@link KernelChoice.Selection}, within what each side can run), whether the FP16/BF16 stem
 * reads the float input itself (then no {@link ForwardPlan.ToNhwc}), and whether an SE block's
 * projection applies the SE scale as it reads (then the excitation leaves its input alone). The
 * executor and the test-side interpreter run the steps as they are.
 *
 * <p>Three activation buffers are enough: a bottleneck reads its input from one, expands into the
 * second, runs the depthwise conv into the third, projects back into the second, and adds the
 * input (still intact in the first) as the residual.
 */
public final class Lowering {
    private static final List<Buffer> ACTIVATIONS = List.of(Buffer.ACT0, Buffer.ACT1, Buffer.ACT2);
    /** The most channels and squeeze channels mnv3_se_fc holds in shared memory (MNV3_SE_MAX_* in native/se.cu). */
    public static final int SE_MAX_CHANNELS = 4096, SE_MAX_SQUEEZE = 1024;

    private final List<Step> steps = new ArrayList<>();
    private final int batch, multiprocessors;
    private final StorageType storage;
    private final KernelChoice.Selection selection;

    private Lowering(int batch, StorageType storage, int multiprocessors, KernelChoice.Selection selection) {
        this.batch = batch;
        this.storage = storage;
        this.multiprocessors = multiprocessors;
        this.selection = selection;
    }

    /**
     * The plan for {@code storage} and {@code spec}'s input (for images, {@code height} and
     * {@code width} are the crop's, the network's input size), with {@code selection} saying who
     * runs each conv that both ours and cuDNN can run.
     */
    public static ForwardPlan lower(Graph graph, int batch, int height, int width, StorageType storage, int multiprocessors,
                                    ForwardPlan.InputSpec spec, KernelChoice.Selection selection) {
        graph.checkInput(new int[] {batch, Graph.INPUT_CHANNELS, height, width});
        Lowering b = new Lowering(batch, storage, multiprocessors, selection);
        Ref x = new Ref(Buffer.INPUT, batch, Graph.INPUT_CHANNELS, height, width);
        Ref input = x, given = b.given(spec, x, height, width);
        Node first = graph.nodes().getFirst(), last = graph.nodes().getLast();
        if (storage.isHalf() && !(first instanceof ConvBnAct stem && b.stemReadsFloat(stem))) {
            Ref converted = new Ref(Buffer.ACT0, batch, roundUp(Graph.INPUT_CHANNELS, ForwardPlan.NHWC_CHANNEL_ALIGN), height,
                    width);
            b.steps.add(new ForwardPlan.ToNhwc(x, converted));
            x = converted;
        }
        for (Node node : graph.nodes()) {
            boolean isLast = node == last;
            x = switch (node) {
                case ConvBnAct c -> b.conv(c, x, free(x.buffer(), null), null, false, node == first);
                case Bottleneck bn -> b.bottleneck(bn, x);
                case GlobalAvgPool p -> {
                    Ref out = new Ref(isLast ? Buffer.LOGITS : Buffer.POOLED, batch, x.c(), 1, 1);
                    b.steps.add(new ForwardPlan.Pool(x, out));
                    yield out;
                }
                case Linear l -> b.dense(l, x, isLast);
            };
            b.steps.add(new ForwardPlan.Output(node, x));
        }
        return new ForwardPlan(batch, height, width, storage, multiprocessors, b.steps, input, x, spec, given);
    }

    /** Where the caller's data goes, and the steps that turn it into the float input {@code x}. */
    private Ref given(ForwardPlan.InputSpec spec, Ref x, int height, int width) {
        if (spec.images()) {
            Preprocessing p = spec.preprocessing();
            if (p.crop() != height || p.crop() != width) {
                throw new IllegalArgumentException("the crop " + p.crop() + " is not the network input " + height + "x" + width);
            }
            Preprocessing.Region r = p.sourceRegion(spec.imageWidth(), spec.imageHeight());
            Ref given = new Ref(Buffer.RAW_INPUT, batch, 3, spec.imageHeight(), spec.imageWidth());
            steps.add(new ForwardPlan.Preprocess(p, given, new Ref(Buffer.PRE_ROWS, batch, 3, r.y1() - r.y0(), p.crop()), x,
                    r.y0(), r.y1()));
            return given;
        }
        if (spec.dtype() != DType.F32) {
            Ref given = new Ref(Buffer.RAW_INPUT, batch, Graph.INPUT_CHANNELS, height, width);
            steps.add(new ForwardPlan.ToFloat(given, x));
            return given;
        }
        return x;
    }

    /** A dense k x k first conv of an FP16/BF16 plan that ours runs reads the float NCHW input directly. */
    private boolean stemReadsFloat(ConvBnAct stem) {
        return isDense(stem) && impl(stem, false, true) == Impl.OURS;
    }

    private Ref bottleneck(Bottleneck b, Ref x) {
        Buffer first = free(x.buffer(), null), second = free(x.buffer(), first);
        Ref y = x;
        if (b.expand() != null) y = conv(b.expand(), y, first, null, false, false);
        SqueezeExcite se = b.se();
        boolean fused = se != null && storage.isHalf();
        y = conv(b.depthwise(), y, b.expand() != null ? second : first, null, fused, false);
        Ref scale = null;
        if (se != null) {
            scale = new Ref(Buffer.SE_SCALE, x.n(), se.channels(), 1, 1);
            // ours (the only one that can) applies the scale as the projection reads its input
            boolean scales = impl(b.project(), false, false) != Impl.OURS;
            if (fused) {
                checkFusedSe(se);
                steps.add(new ForwardPlan.ExciteFused(se, y, ((Conv) steps.getLast()).partial(), scale, scales));
            } else {
                steps.add(new ForwardPlan.Excite(se, y, new Ref(Buffer.SE_POOLED, x.n(), se.channels(), 1, 1),
                        new Ref(Buffer.SE_HIDDEN, x.n(), se.squeezeChannels(), 1, 1), scale, scales));
            }
            if (scales) scale = null;
        }
        // the projection goes to whichever activation buffer holds neither the block input nor y
        Ref out = outRef(b.project(), y, free(x.buffer(), y.buffer()));
        steps.add(new Conv(b.project(), y, out, b.residual() ? x : null, null, scale, impl(b.project(), false, false)));
        return out;
    }

    private Ref conv(ConvBnAct c, Ref in, Buffer target, Ref residual, boolean withPartial, boolean first) {
        Ref out = outRef(c, in, target);
        Ref partial = null;
        if (withPartial) {
            int chunks = LaunchGeometry.depthwiseNhwc(ForwardPlan.channelGroups(out.c()), out.plane(), batch, multiprocessors)
                    .gridY();
            partial = new Ref(Buffer.SE_POOLED, in.n(), out.c(), chunks, 1);
        }
        // an FP16/BF16 stem that ours runs gets the float input itself (lower emitted no ToNhwc)
        steps.add(new Conv(c, in, out, residual, partial, null, impl(c, withPartial, first)));
        return out;
    }

    private Ref outRef(ConvBnAct c, Ref in, Buffer target) {
        Shape s = c.outputShape(new Shape(c.inChannels(), in.h(), in.w()));
        return new Ref(target, in.n(), s.channels(), s.height(), s.width());
    }

    /**
     * A linear layer. NCHW plans run it with our linear kernel; NHWC plans as our 1x1 conv, the last
     * (float logits) raw into the storage type and then bias + activation into float.
     */
    private Ref dense(Linear l, Ref x, boolean isLast) {
        Buffer buf = x.buffer() == Buffer.HIDDEN ? Buffer.POOLED : Buffer.HIDDEN;
        Ref raw = storage.isHalf() ? new Ref(buf, batch, l.outFeatures(), 1, 1) : null;
        Ref out = isLast ? new Ref(Buffer.LOGITS, batch, l.outFeatures(), 1, 1)
                : raw != null ? raw : new Ref(buf, batch, l.outFeatures(), 1, 1);
        steps.add(new ForwardPlan.Dense(l, x, out, raw));
        return out;
    }

    /**
     * Who runs {@code c}: ours where cuDNN cannot (an FP16/BF16 SE depthwise conv also writes the
     * squeeze's partial sums), cuDNN where ours cannot (a dense k x k conv other than the first in
     * an FP16/BF16 plan), else the selection's choice.
     */
    private Impl impl(ConvBnAct c, boolean writesPartial, boolean first) {
        if (writesPartial) return Impl.OURS;
        if (storage.isHalf() && isDense(c) && !first) return Impl.CUDNN;
        return selection.choose(c);
    }

    private static boolean isDense(ConvBnAct c) {
        return !c.isDepthwise() && !c.isPointwise();
    }

    private static void checkFusedSe(SqueezeExcite se) {
        if (se.channels() > SE_MAX_CHANNELS || se.squeezeChannels() > SE_MAX_SQUEEZE) {
            throw new IllegalArgumentException(se.name() + " has " + se.channels() + " channels squeezed to "
                    + se.squeezeChannels() + "; the FP16/BF16 path supports at most " + SE_MAX_CHANNELS + " and "
                    + SE_MAX_SQUEEZE + " (set CompileOptions.precision to FP32 or TF32)");
        }
    }

    private static int roundUp(int v, int multiple) {
        return (v + multiple - 1) / multiple * multiple;
    }

    /** The first activation buffer that is neither {@code a} nor {@code b}. */
    private static Buffer free(Buffer a, Buffer b) {
        for (Buffer buf : ACTIVATIONS) {
            if (buf != a && buf != b) return buf;
        }
        throw new IllegalStateException("no free activation buffer besides " + a + " and " + b);
    }
}
