package dev.mnv3.cuda.plan;

import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Node;
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
 * The forward pass of a graph at one input shape, as the device runs it: a list of steps over a
 * handful of buffers, each sized once for the largest tensor it ever holds. Built by
 * {@link Lowering}, which makes every decision; pure Java, so buffer assignment, data flow and
 * numerics (through a CPU interpreter) are tested without a GPU.
 *
 * <p>Two layouts: {@link StorageType#F32} plans are float NCHW; FP16/BF16 plans store activations
 * NHWC in 16 bits, convert the float input first ({@link ToNhwc}) unless our stem reads it, let the
 * depthwise conv of an SE block write the squeeze's partial sums ({@link Conv#partial}, read by
 * {@link ExciteFused}), and run the classifier's linears as 1x1 convs (the last into a raw buffer
 * before the bias).
 */
public final class ForwardPlan {
    /**
     * RAW_INPUT holds an input that is not the network's float input: F16/BF16 [N, 3, H, W] or U8
     * images [N, H, W, 3]; PRE_ROWS the horizontal pass of the images' preprocessing.
     */
    public enum Buffer { RAW_INPUT, PRE_ROWS, INPUT, ACT0, ACT1, ACT2, SE_POOLED, SE_HIDDEN, SE_SCALE, POOLED, HIDDEN, LOGITS }

    /** Buffers that hold float whatever the storage type: the input, the logits and SE's small vectors. */
    private static final Set<Buffer> ALWAYS_FLOAT = EnumSet.of(Buffer.INPUT, Buffer.LOGITS, Buffer.SE_POOLED,
            Buffer.SE_HIDDEN, Buffer.SE_SCALE);

    /**
     * What a caller hands in: the network's input as F32, F16 or BF16 [N, 3, H, W], or raw U8
     * images [N, imageHeight, imageWidth, 3] that {@code preprocessing} turns into it on the device.
     */
    public record InputSpec(DType dtype, Preprocessing preprocessing, int imageHeight, int imageWidth) {
        public static final InputSpec F32 = new InputSpec(DType.F32, null, 0, 0);

        public static InputSpec tensor(DType dtype) {
            if (!dtype.isFloat()) throw new IllegalArgumentException("a network input is F32, F16 or BF16, not " + dtype);
            return dtype == DType.F32 ? F32 : new InputSpec(dtype, null, 0, 0);
        }

        public static InputSpec images(Preprocessing p, int height, int width) {
            return new InputSpec(DType.U8, p, height, width);
        }

        public boolean images() {
            return preprocessing != null;
        }
    }
    /** NHWC plans pad the image's channels (3) to this, which cuDNN's tensor-core convs want. */
    public static final int NHWC_CHANNEL_ALIGN = 8;

    /**
     * A tensor [n, c, h, w] living in {@code buffer} from element 0 (vectors have h = w = 1),
     * stored n, c, h, w in NCHW plans and n, h, w, c in NHWC plans. The plan hands the producer's
     * instance to every consumer, so identity means "this value".
     */
    public record Ref(Buffer buffer, int n, int c, int h, int w) {
        public long elements() {
            return (long) n * c * h * w;
        }

        public int plane() {
            return h * w;
        }
    }

    /** One thing the device does; {@link #reads()} and {@link #writes()} describe its data flow. */
    public sealed interface Step {
        List<Ref> reads();

        List<Ref> writes();
    }

    /** A 16-bit input [N, 3, H, W] widened to the float input (exact). */
    public record ToFloat(Ref raw, Ref out) implements Step {
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
    public record Preprocess(Preprocessing preprocessing, Ref images, Ref rows, Ref out, int y0, int y1) implements Step {
        public List<Ref> reads() {
            return List.of(images);
        }

        public List<Ref> writes() {
            return List.of(rows, out);
        }
    }

    /** NHWC plans: the float NCHW input to storage-type NHWC, channels zero-padded to {@code out.c}. */
    public record ToNhwc(Ref in, Ref out) implements Step {
        public List<Ref> reads() {
            return List.of(in);
        }

        public List<Ref> writes() {
            return List.of(out);
        }
    }

    /**
     * Conv + folded BatchNorm + activation, plus the residual (after the activation) when not null,
     * run by {@code impl}: our kernel, or cuDNN followed by our bias + activation epilogue.
     * {@code partial}, NHWC depthwise of an SE block only: per (image, pixel chunk, channel) sums of
     * the output, [n, chunks (as h), c], written by the same kernel. {@code scale}, an SE block's
     * projection run by ours only: the SE scale [n, c_in] the kernel multiplies its input by as it
     * reads it (the excitation then leaves its input unscaled).
     */
    public record Conv(ConvBnAct conv, Ref in, Ref out, Ref residual, Ref partial, Ref scale, KernelChoice.Impl impl)
            implements Step {
        public List<Ref> reads() {
            List<Ref> r = new ArrayList<>(List.of(in));
            if (residual != null) r.add(residual);
            if (scale != null) r.add(scale);
            return r;
        }

        public List<Ref> writes() {
            return partial == null ? List.of(out) : List.of(out, partial);
        }

        public boolean ours() {
            return impl == KernelChoice.Impl.OURS;
        }
    }

    /**
     * scale = hsigmoid(fc2(relu(fc1(avgpool(x))))), then x *= scale in place unless {@code scales}
     * is false (the projection applies the scale as it reads x). NCHW plans.
     */
    public record Excite(SqueezeExcite se, Ref x, Ref pooled, Ref hidden, Ref scale, boolean scales) implements Step {
        public List<Ref> reads() {
            return List.of(x);
        }

        public List<Ref> writes() {
            return scales ? List.of(pooled, hidden, scale, x) : List.of(pooled, hidden, scale);
        }
    }

    /**
     * NHWC plans: the squeeze from the depthwise conv's partial sums, both FCs in one kernel, then
     * x *= scale unless {@code scales} is false (as in {@link Excite}).
     */
    public record ExciteFused(SqueezeExcite se, Ref x, Ref partial, Ref scale, boolean scales) implements Step {
        public List<Ref> reads() {
            return List.of(x, partial);
        }

        public List<Ref> writes() {
            return scales ? List.of(scale, x) : List.of(scale);
        }
    }

    public record Pool(Ref in, Ref out) implements Step {
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
    public record Dense(Linear linear, Ref in, Ref out, Ref raw) implements Step {
        public List<Ref> reads() {
            return List.of(in);
        }

        public List<Ref> writes() {
            return raw == null || raw == out ? List.of(out) : List.of(raw, out);
        }
    }

    /** The end of a node: {@code value} is its output, which a traced run copies back. */
    public record Output(Node node, Ref value) implements Step {
        public List<Ref> reads() {
            return List.of(value);
        }

        public List<Ref> writes() {
            return List.of();
        }

        /** As the CPU reference traces it: linear layers [N, K], everything else [N, C, H, W]. */
        public int[] traceShape() {
            return node instanceof Linear ? new int[] {value.n, value.c} : new int[] {value.n, value.c, value.h, value.w};
        }

        /** The node's output as the CPU reference traces it, from the values as {@code plan} stores them. */
        public Tensor traceTensor(float[] stored, boolean nhwc) {
            if (!nhwc || value.plane() == 1) return new Tensor(traceShape(), stored);
            // [n, plane, c] -> [n, c, plane]: the same transpose with the roles of plane and c swapped
            return new Tensor(traceShape(), Layouts.channelsLast(stored, value.n, value.plane(), value.plane(), value.c));
        }
    }

    private final int batch, height, width, multiprocessors;
    private final StorageType storage;
    private final InputSpec inputSpec;
    /** What the caller's data is copied into: the float input itself, or RAW_INPUT. */
    private final Ref given;
    private final List<Step> steps;
    private final Map<Buffer, Long> sizes;
    private final Ref input, logits;

    /** The steps {@link Lowering} emitted for one shape, storage, input and kernel selection. */
    ForwardPlan(int batch, int height, int width, StorageType storage, int multiprocessors, List<Step> steps, Ref input,
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

    /** A float NCHW plan (FP32, TF32), with cuDNN running every conv it can. */
    public static ForwardPlan of(Graph graph, int batch, int height, int width) {
        return of(graph, batch, height, width, StorageType.F32, 1);
    }

    /**
     * The plan for {@code storage} with cuDNN running every conv it can; {@code multiprocessors}
     * sizes the depthwise kernel's pixel chunks in NHWC plans (and with them the SE partial sums).
     */
    public static ForwardPlan of(Graph graph, int batch, int height, int width, StorageType storage, int multiprocessors) {
        return of(graph, batch, height, width, storage, multiprocessors, InputSpec.F32);
    }

    public static ForwardPlan of(Graph graph, int batch, int height, int width, StorageType storage, int multiprocessors,
                                 InputSpec spec) {
        return Lowering.lower(graph, batch, height, width, storage, multiprocessors, spec, KernelChoice.Selection.CUDNN);
    }

    /** Channels move eight at a time through the NHWC kernels when they can, one at a time otherwise. */
    public static int vectorWidth(int channels) {
        return channels % 8 == 0 ? 8 : 1;
    }

    public static int channelGroups(int channels) {
        return channels / vectorWidth(channels);
    }

    public int batch() {
        return batch;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public StorageType storage() {
        return storage;
    }

    /** The SM count the depthwise launches of this plan were sized for. */
    public int multiprocessors() {
        return multiprocessors;
    }

    /** Activations are NHWC in 16 bits (FP16/BF16), not float NCHW. */
    public boolean nhwc() {
        return storage.isHalf();
    }

    public List<Step> steps() {
        return steps;
    }

    /** Elements each buffer needs (buffers the graph never uses are absent). */
    public Map<Buffer, Long> sizes() {
        return sizes;
    }

    /** Bytes per element of {@code b}: the storage type's, 4 for the buffers that are always float, the input's own for RAW_INPUT. */
    public int elementBytes(Buffer b) {
        if (b == Buffer.RAW_INPUT) return inputSpec.dtype().bytes;
        if (b == Buffer.PRE_ROWS) return 1; // the images' horizontal pass, rounded to bytes as PIL stores it
        return ALWAYS_FLOAT.contains(b) ? Float.BYTES : storage.bytes;
    }

    public InputSpec inputSpec() {
        return inputSpec;
    }

    /** Where the caller's data goes: the float input, or the raw input the first steps convert. */
    public Ref given() {
        return given;
    }

    public Ref input() {
        return input;
    }

    public Ref logits() {
        return logits;
    }
}
