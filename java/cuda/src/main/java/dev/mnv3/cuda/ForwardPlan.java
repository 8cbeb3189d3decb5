package dev.mnv3.cuda;

import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.GlobalAvgPool;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.core.graph.SqueezeExcite;
import dev.mnv3.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The forward pass of a graph at one input shape as a list of device steps over a handful of
 * buffers, each sized once for the largest tensor it ever holds. Three activation buffers are
 * enough: a bottleneck reads its input from one, expands into the second, runs the depthwise
 * conv into the third, projects back into the second, and adds the input (still intact in the
 * first) as the residual. Pure Java, so the buffer assignment is tested without a GPU.
 *
 * <p>Two layouts: {@link Storage#F32} plans are float NCHW; FP16/BF16 plans store activations
 * NHWC in 16 bits, convert the float input first ({@link ToNhwc}), let the depthwise conv of an
 * SE block write the squeeze's partial sums ({@link Conv#partial}, read by {@link ExciteFused}),
 * and run the classifier's linears as 1x1 convs (the last into a raw buffer before the bias).
 */
final class ForwardPlan {
    /**
     * RAW_INPUT holds an input that is not the network's float input: F16/BF16 [N, 3, H, W] or U8
     * images [N, H, W, 3]; PRE_ROWS the horizontal pass of the images' preprocessing.
     */
    enum Buffer { RAW_INPUT, PRE_ROWS, INPUT, ACT0, ACT1, ACT2, SE_POOLED, SE_HIDDEN, SE_SCALE, POOLED, HIDDEN, LOGITS }

    private static final List<Buffer> ACTIVATIONS = List.of(Buffer.ACT0, Buffer.ACT1, Buffer.ACT2);
    /** Buffers that hold float whatever the storage type: the input, the logits and SE's small vectors. */
    private static final Set<Buffer> ALWAYS_FLOAT = EnumSet.of(Buffer.INPUT, Buffer.LOGITS, Buffer.SE_POOLED,
            Buffer.SE_HIDDEN, Buffer.SE_SCALE);

    /**
     * What a caller hands in: the network's input as F32, F16 or BF16 [N, 3, H, W], or raw U8
     * images [N, imageHeight, imageWidth, 3] that {@code preprocessing} turns into it on the device.
     */
    record InputSpec(DType dtype, Preprocessing preprocessing, int imageHeight, int imageWidth) {
        static final InputSpec F32 = new InputSpec(DType.F32, null, 0, 0);

        static InputSpec tensor(DType dtype) {
            if (!dtype.isFloat()) throw new IllegalArgumentException("a network input is F32, F16 or BF16, not " + dtype);
            return dtype == DType.F32 ? F32 : new InputSpec(dtype, null, 0, 0);
        }

        static InputSpec images(Preprocessing p, int height, int width) {
            return new InputSpec(DType.U8, p, height, width);
        }

        boolean images() {
            return preprocessing != null;
        }
    }
    /** NHWC plans pad the image's channels (3) to this, which cuDNN's tensor-core convs want. */
    static final int NHWC_CHANNEL_ALIGN = 8;
    /** The most channels and squeeze channels mnv3_se_fc holds in shared memory (native/se.cu). */
    static final int SE_MAX_CHANNELS = 4096, SE_MAX_SQUEEZE = 1024;

    /**
     * A tensor [n, c, h, w] living in {@code buffer} from element 0 (vectors have h = w = 1),
     * stored n, c, h, w in NCHW plans and n, h, w, c in NHWC plans. The plan hands the producer's
     * instance to every consumer, so identity means "this value".
     */
    record Ref(Buffer buffer, int n, int c, int h, int w) {
        long elements() {
            return (long) n * c * h * w;
        }

        int plane() {
            return h * w;
        }
    }

    /** One thing the device does; {@link #reads()} and {@link #writes()} describe its data flow. */
    sealed interface Step {
        List<Ref> reads();

        List<Ref> writes();
    }

    /** A 16-bit input [N, 3, H, W] widened to the float input (exact). */
    record ToFloat(Ref raw, Ref out) implements Step {
        public List<Ref> reads() {
            return List.of(raw);
        }

        public List<Ref> writes() {
            return List.of(out);
        }
    }

    /**
     * Raw images [n, imageHeight, imageWidth, 3] U8 (in {@code images}, whose h and w are the
     * images') resized, center-cropped and normalized into the float input, as
     * {@link Preprocessing} does on the host: the source rows [{@code y0}, {@code y1}) the crop
     * needs, resampled horizontally into {@code rows} [n, 3, y1 - y0, crop] (U8),
     * then vertically into {@code out}.
     */
    record Preprocess(Preprocessing preprocessing, Ref images, Ref rows, Ref out, int y0, int y1) implements Step {
        public List<Ref> reads() {
            return List.of(images);
        }

        public List<Ref> writes() {
            return List.of(rows, out);
        }
    }

    /** NHWC plans: the float NCHW input to storage-type NHWC, channels zero-padded to {@code out.c}. */
    record ToNhwc(Ref in, Ref out) implements Step {
        public List<Ref> reads() {
            return List.of(in);
        }

        public List<Ref> writes() {
            return List.of(out);
        }
    }

    /**
     * Conv + folded BatchNorm + activation, plus the residual (after the activation) when not null.
     * {@code partial}, NHWC depthwise of an SE block only: per (image, pixel chunk, channel) sums of
     * the output, [n, chunks (as h), c], written by the same kernel.
     */
    record Conv(ConvBnAct conv, Ref in, Ref out, Ref residual, Ref partial) implements Step {
        public List<Ref> reads() {
            return residual == null ? List.of(in) : List.of(in, residual);
        }

        public List<Ref> writes() {
            return partial == null ? List.of(out) : List.of(out, partial);
        }
    }

    /** x *= hsigmoid(fc2(relu(fc1(avgpool(x))))), in place (NCHW plans). */
    record Excite(SqueezeExcite se, Ref x, Ref pooled, Ref hidden, Ref scale) implements Step {
        public List<Ref> reads() {
            return List.of(x);
        }

        public List<Ref> writes() {
            return List.of(pooled, hidden, scale, x);
        }
    }

    /** NHWC plans: the squeeze from the depthwise conv's partial sums, both FCs in one kernel, then x *= scale. */
    record ExciteFused(SqueezeExcite se, Ref x, Ref partial, Ref scale) implements Step {
        public List<Ref> reads() {
            return List.of(x, partial);
        }

        public List<Ref> writes() {
            return List.of(scale, x);
        }
    }

    record Pool(Ref in, Ref out) implements Step {
        public List<Ref> reads() {
            return List.of(in);
        }

        public List<Ref> writes() {
            return List.of(out);
        }
    }

    /**
     * A linear layer. NCHW plans run it with our linear kernel ({@code raw} is null); NHWC plans run
     * it as our 1x1 conv over [N, in]: into {@code out} with the bias and activation fused when
     * {@code raw == out}, or, for the float logits, raw into {@code raw} (in the storage type) and
     * then bias + activation from raw into {@code out}.
     */
    record Dense(Linear linear, Ref in, Ref out, Ref raw) implements Step {
        public List<Ref> reads() {
            return List.of(in);
        }

        public List<Ref> writes() {
            return raw == null || raw == out ? List.of(out) : List.of(raw, out);
        }
    }

    /** The end of a node: {@code value} is its output, which a traced run copies back. */
    record Output(Node node, Ref value) implements Step {
        public List<Ref> reads() {
            return List.of(value);
        }

        public List<Ref> writes() {
            return List.of();
        }

        /** As the CPU reference traces it: linear layers [N, K], everything else [N, C, H, W]. */
        int[] traceShape() {
            return node instanceof Linear ? new int[] {value.n, value.c} : new int[] {value.n, value.c, value.h, value.w};
        }

        /** The node's output as the CPU reference traces it, from the values as {@code plan} stores them. */
        Tensor traceTensor(float[] stored, boolean nhwc) {
            if (!nhwc || value.plane() == 1) return new Tensor(traceShape(), stored);
            // [n, plane, c] -> [n, c, plane]: the same transpose with the roles of plane and c swapped
            return new Tensor(traceShape(), Layouts.channelsLast(stored, value.n, value.plane(), value.plane(), value.c));
        }
    }

    private final int batch, height, width, multiprocessors;
    private final Storage storage;
    private final InputSpec inputSpec;
    /** What the caller's data is copied into: the float input itself, or RAW_INPUT. */
    private final Ref given;
    private final List<Step> steps;
    private final Map<Buffer, Long> sizes;
    private final Ref input, logits;

    private ForwardPlan(int batch, int height, int width, Storage storage, int multiprocessors, List<Step> steps, Ref input,
                        Ref logits, InputSpec inputSpec, Ref given) {
        this.inputSpec = inputSpec;
        this.given = given;
        this.batch = batch;
        this.multiprocessors = multiprocessors;
        this.height = height;
        this.width = width;
        this.storage = storage;
        this.steps = Collections.unmodifiableList(steps);
        this.input = input;
        this.logits = logits;
        Map<Buffer, Long> s = new EnumMap<>(Buffer.class);
        for (Step step : steps) {
            for (Ref r : step.writes()) s.merge(r.buffer, r.elements(), Math::max);
        }
        s.merge(input.buffer, input.elements(), Math::max);
        s.merge(given.buffer, given.elements(), Math::max);
        this.sizes = Collections.unmodifiableMap(s);
    }

    /** A float NCHW plan (FP32, TF32). */
    static ForwardPlan of(Graph graph, int batch, int height, int width) {
        return of(graph, batch, height, width, Storage.F32, 1);
    }

    /**
     * The plan for {@code storage}; {@code multiprocessors} sizes the depthwise kernel's pixel
     * chunks in NHWC plans (and with them the SE partial sums).
     */
    static ForwardPlan of(Graph graph, int batch, int height, int width, Storage storage, int multiprocessors) {
        return of(graph, batch, height, width, storage, multiprocessors, InputSpec.F32);
    }

    /**
     * The plan for {@code storage} and {@code spec}'s input; for images, {@code height} and
     * {@code width} are the crop's (the network's input size).
     */
    static ForwardPlan of(Graph graph, int batch, int height, int width, Storage storage, int multiprocessors,
                          InputSpec spec) {
        graph.checkInput(new int[] {batch, Graph.INPUT_CHANNELS, height, width});
        Builder b = new Builder(batch, storage, multiprocessors);
        Ref x = new Ref(Buffer.INPUT, batch, Graph.INPUT_CHANNELS, height, width);
        Ref input = x, given = x;
        if (spec.images()) {
            Preprocessing p = spec.preprocessing();
            if (p.crop() != height || p.crop() != width) {
                throw new IllegalArgumentException("the crop " + p.crop() + " is not the network input " + height + "x" + width);
            }
            Preprocessing.Region r = p.sourceRegion(spec.imageWidth(), spec.imageHeight());
            given = new Ref(Buffer.RAW_INPUT, batch, 3, spec.imageHeight(), spec.imageWidth());
            b.steps.add(new Preprocess(p, given, new Ref(Buffer.PRE_ROWS, batch, 3, r.y1() - r.y0(), p.crop()), x, r.y0(),
                    r.y1()));
        } else if (spec.dtype() != DType.F32) {
            given = new Ref(Buffer.RAW_INPUT, batch, Graph.INPUT_CHANNELS, height, width);
            b.steps.add(new ToFloat(given, x));
        }
        if (storage.isHalf()) {
            Ref converted = new Ref(Buffer.ACT0, batch, roundUp(Graph.INPUT_CHANNELS, NHWC_CHANNEL_ALIGN), height, width);
            b.steps.add(new ToNhwc(x, converted));
            x = converted;
        }
        Node last = graph.nodes().getLast();
        for (Node node : graph.nodes()) {
            boolean isLast = node == last;
            x = switch (node) {
                case ConvBnAct c -> b.conv(c, x, free(x.buffer, null), null, false);
                case Bottleneck bn -> b.bottleneck(bn, x);
                case GlobalAvgPool p -> {
                    Ref out = new Ref(isLast ? Buffer.LOGITS : Buffer.POOLED, batch, x.c, 1, 1);
                    b.steps.add(new Pool(x, out));
                    yield out;
                }
                case Linear l -> {
                    Buffer buf = x.buffer == Buffer.HIDDEN ? Buffer.POOLED : Buffer.HIDDEN;
                    Ref raw = storage.isHalf() ? new Ref(buf, batch, l.outFeatures(), 1, 1) : null;
                    Ref out = isLast ? new Ref(Buffer.LOGITS, batch, l.outFeatures(), 1, 1)
                            : raw != null ? raw : new Ref(buf, batch, l.outFeatures(), 1, 1);
                    b.steps.add(new Dense(l, x, out, raw));
                    yield out;
                }
            };
            b.steps.add(new Output(node, x));
        }
        return new ForwardPlan(batch, height, width, storage, multiprocessors, b.steps, input, x, spec, given);
    }

    /** Accumulates the steps of one plan. */
    private static final class Builder {
        final List<Step> steps = new ArrayList<>();
        final int batch, multiprocessors;
        final Storage storage;

        Builder(int batch, Storage storage, int multiprocessors) {
            this.batch = batch;
            this.storage = storage;
            this.multiprocessors = multiprocessors;
        }

        Ref bottleneck(Bottleneck b, Ref x) {
            Buffer first = free(x.buffer, null), second = free(x.buffer, first);
            Ref y = x;
            if (b.expand() != null) y = conv(b.expand(), y, first, null, false);
            SqueezeExcite se = b.se();
            boolean fused = se != null && storage.isHalf();
            y = conv(b.depthwise(), y, b.expand() != null ? second : first, null, fused);
            if (fused) {
                checkFusedSe(se);
                Conv dw = (Conv) steps.getLast();
                steps.add(new ExciteFused(se, y, dw.partial(), new Ref(Buffer.SE_SCALE, x.n, se.channels(), 1, 1)));
            } else if (se != null) {
                steps.add(new Excite(se, y, new Ref(Buffer.SE_POOLED, x.n, se.channels(), 1, 1),
                        new Ref(Buffer.SE_HIDDEN, x.n, se.squeezeChannels(), 1, 1), new Ref(Buffer.SE_SCALE, x.n, se.channels(), 1, 1)));
            }
            // the projection goes to whichever activation buffer holds neither the block input nor y
            return conv(b.project(), y, free(x.buffer, y.buffer), b.residual() ? x : null, false);
        }

        Ref conv(ConvBnAct c, Ref in, Buffer target, Ref residual, boolean withPartial) {
            Shape s = c.outputShape(new Shape(c.inChannels(), in.h, in.w));
            Ref out = new Ref(target, in.n, s.channels(), s.height(), s.width());
            Ref partial = null;
            if (withPartial) {
                int chunks = LaunchGeometry.depthwiseNhwc(channelGroups(out.c), out.plane(), batch, multiprocessors).gridY();
                partial = new Ref(Buffer.SE_POOLED, in.n, out.c, chunks, 1);
            }
            steps.add(new Conv(c, in, out, residual, partial));
            return out;
        }
    }

    private static void checkFusedSe(SqueezeExcite se) {
        if (se.channels() > SE_MAX_CHANNELS || se.squeezeChannels() > SE_MAX_SQUEEZE) {
            throw new IllegalArgumentException(se.name() + " has " + se.channels() + " channels squeezed to "
                    + se.squeezeChannels() + "; the FP16/BF16 path supports at most " + SE_MAX_CHANNELS + " and "
                    + SE_MAX_SQUEEZE + " (use --precision fp32 or tf32)");
        }
    }

    /** Channels move eight at a time through the NHWC kernels when they can, one at a time otherwise. */
    static int vectorWidth(int channels) {
        return channels % 8 == 0 ? 8 : 1;
    }

    static int channelGroups(int channels) {
        return channels / vectorWidth(channels);
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

    int batch() {
        return batch;
    }

    int height() {
        return height;
    }

    int width() {
        return width;
    }

    Storage storage() {
        return storage;
    }

    /** The SM count the depthwise launches of this plan were sized for. */
    int multiprocessors() {
        return multiprocessors;
    }

    /** Activations are NHWC in 16 bits (FP16/BF16), not float NCHW. */
    boolean nhwc() {
        return storage.isHalf();
    }

    List<Step> steps() {
        return steps;
    }

    /** Elements each buffer needs (buffers the graph never uses are absent). */
    Map<Buffer, Long> sizes() {
        return sizes;
    }

    /** Bytes per element of {@code b}: the storage type's, 4 for the buffers that are always float, the input's own for RAW_INPUT. */
    int elementBytes(Buffer b) {
        if (b == Buffer.RAW_INPUT) return inputSpec.dtype().bytes;
        if (b == Buffer.PRE_ROWS) return 1; // the images' horizontal pass, rounded to bytes as PIL stores it
        return ALWAYS_FLOAT.contains(b) ? Float.BYTES : storage.bytes;
    }

    InputSpec inputSpec() {
        return inputSpec;
    }

    /** Where the caller's data goes: the float input, or the raw input the first steps convert. */
    Ref given() {
        return given;
    }

    Ref input() {
        return input;
    }

    Ref logits() {
        return logits;
    }
}
