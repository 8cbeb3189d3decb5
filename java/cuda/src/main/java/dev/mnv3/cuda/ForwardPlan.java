package dev.mnv3.cuda;

import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.GlobalAvgPool;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.core.graph.SqueezeExcite;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The forward pass of a graph at one input shape as a list of device steps over a handful of
 * buffers, each sized once for the largest tensor it ever holds. Three activation buffers are
 * enough: a bottleneck reads its input from one, expands into the second, runs the depthwise
 * conv into the third, projects back into the second, and adds the input (still intact in the
 * first) as the residual. Pure Java, so the buffer assignment is tested without a GPU.
 */
final class ForwardPlan {
    enum Buffer { INPUT, ACT0, ACT1, ACT2, SE_POOLED, SE_HIDDEN, SE_SCALE, POOLED, HIDDEN, LOGITS }

    private static final List<Buffer> ACTIVATIONS = List.of(Buffer.ACT0, Buffer.ACT1, Buffer.ACT2);

    /**
     * A tensor [n, c, h, w] living in {@code buffer} from element 0 (vectors have h = w = 1). The
     * plan hands the producer's instance to every consumer, so identity means "this value".
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

    /** Conv + folded BatchNorm + activation, plus the residual (after the activation) when not null. */
    record Conv(ConvBnAct conv, Ref in, Ref out, Ref residual) implements Step {
        public List<Ref> reads() {
            return residual == null ? List.of(in) : List.of(in, residual);
        }

        public List<Ref> writes() {
            return List.of(out);
        }
    }

    /** x *= hsigmoid(fc2(relu(fc1(avgpool(x))))), in place. */
    record Excite(SqueezeExcite se, Ref x, Ref pooled, Ref hidden, Ref scale) implements Step {
        public List<Ref> reads() {
            return List.of(x);
        }

        public List<Ref> writes() {
            return List.of(pooled, hidden, scale, x);
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

    record Dense(Linear linear, Ref in, Ref out) implements Step {
        public List<Ref> reads() {
            return List.of(in);
        }

        public List<Ref> writes() {
            return List.of(out);
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
    }

    private final int batch, height, width;
    private final List<Step> steps;
    private final Map<Buffer, Long> sizes;
    private final Ref input, logits;

    private ForwardPlan(int batch, int height, int width, List<Step> steps, Ref input, Ref logits) {
        this.batch = batch;
        this.height = height;
        this.width = width;
        this.steps = Collections.unmodifiableList(steps);
        this.input = input;
        this.logits = logits;
        Map<Buffer, Long> s = new EnumMap<>(Buffer.class);
        for (Step step : steps) {
            for (Ref r : step.writes()) s.merge(r.buffer, r.elements(), Math::max);
        }
        s.merge(input.buffer, input.elements(), Math::max);
        this.sizes = Collections.unmodifiableMap(s);
    }

    static ForwardPlan of(Graph graph, int batch, int height, int width) {
        graph.checkInput(new int[] {batch, Graph.INPUT_CHANNELS, height, width});
        Ref x = new Ref(Buffer.INPUT, batch, Graph.INPUT_CHANNELS, height, width);
        Ref input = x;
        List<Step> steps = new ArrayList<>();
        Node last = graph.nodes().getLast();
        for (Node node : graph.nodes()) {
            x = switch (node) {
                case ConvBnAct c -> conv(steps, c, x, free(x.buffer, null), null);
                case Bottleneck b -> bottleneck(steps, b, x);
                case GlobalAvgPool p -> {
                    Ref out = new Ref(node == last ? Buffer.LOGITS : Buffer.POOLED, batch, x.c, 1, 1);
                    steps.add(new Pool(x, out));
                    yield out;
                }
                case Linear l -> {
                    Buffer b = node == last ? Buffer.LOGITS : x.buffer == Buffer.HIDDEN ? Buffer.POOLED : Buffer.HIDDEN;
                    Ref out = new Ref(b, batch, l.outFeatures(), 1, 1);
                    steps.add(new Dense(l, x, out));
                    yield out;
                }
            };
            steps.add(new Output(node, x));
        }
        return new ForwardPlan(batch, height, width, steps, input, x);
    }

    private static Ref bottleneck(List<Step> steps, Bottleneck b, Ref x) {
        Buffer first = free(x.buffer, null), second = free(x.buffer, first);
        Ref y = x;
        if (b.expand() != null) y = conv(steps, b.expand(), y, first, null);
        y = conv(steps, b.depthwise(), y, b.expand() != null ? second : first, null);
        if (b.se() != null) {
            SqueezeExcite se = b.se();
            steps.add(new Excite(se, y, new Ref(Buffer.SE_POOLED, x.n, se.channels(), 1, 1),
                    new Ref(Buffer.SE_HIDDEN, x.n, se.squeezeChannels(), 1, 1), new Ref(Buffer.SE_SCALE, x.n, se.channels(), 1, 1)));
        }
        // the projection goes to whichever activation buffer holds neither the block input nor y
        return conv(steps, b.project(), y, free(x.buffer, y.buffer), b.residual() ? x : null);
    }

    private static Ref conv(List<Step> steps, ConvBnAct c, Ref in, Buffer target, Ref residual) {
        Shape s = c.outputShape(new Shape(in.c, in.h, in.w));
        Ref out = new Ref(target, in.n, s.channels(), s.height(), s.width());
        steps.add(new Conv(c, in, out, residual));
        return out;
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

    List<Step> steps() {
        return steps;
    }

    /** Elements each buffer needs (buffers the graph never uses are absent). */
    Map<Buffer, Long> sizes() {
        return sizes;
    }

    Ref input() {
        return input;
    }

    Ref logits() {
        return logits;
    }
}
