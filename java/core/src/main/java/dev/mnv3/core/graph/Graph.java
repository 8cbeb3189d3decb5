package dev.mnv3.core.graph;

import dev.mnv3.core.Activation;
import dev.mnv3.core.BottleneckSpec;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.SqueezeExciteSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The MobileNetV3 forward pass as an immutable list of nodes, built from a config exactly as
 * torchvision's {@code MobileNetV3} builds its modules (with the config's squeeze-excitation). Shapes are inferred per input size, so
 * one graph serves every resolution from {@link #minInputSize()} up.
 */
public final class Graph {
    public static final int INPUT_CHANNELS = 3;
    /** The largest input height or width: 64k, far beyond any photo, keeps every size and count in exact arithmetic. */
    public static final int MAX_INPUT_SIZE = 1 << 16;

    private final MobileNetV3Config config;
    private final List<Node> nodes;
    private final List<FeatureLevel> featureLevels;

    private Graph(MobileNetV3Config config, List<Node> nodes) {
        this.config = config;
        this.nodes = Collections.unmodifiableList(nodes);
        this.featureLevels = findFeatureLevels(this.nodes);
    }

    public static Graph of(MobileNetV3Config config) {
        Activation outer = config.outerActivation();
        List<Node> nodes = new ArrayList<>();
        SqueezeExciteSpec seSpec = config.squeezeExcite();
        int in = config.scaled(config.stemChannels());
        nodes.add(new ConvBnAct("features.0", INPUT_CHANNELS, in, 3, 2, 1, 1, outer));
        List<BottleneckSpec> table = config.effectiveTable();
        for (int i = 0; i < table.size(); i++) {
            BottleneckSpec s = table.get(i);
            int exp = config.scaled(s.expSize());
            int out = config.scaled(s.outChannels());
            String name = "features." + (i + 1);
            int sub = 0;
            ConvBnAct expand = exp != in ? ConvBnAct.pointwise(name + ".block." + sub++, in, exp, s.activation()) : null;
            ConvBnAct dw = new ConvBnAct(name + ".block." + sub++, exp, exp, s.kernel(), s.effectiveStride(),
                    s.dilation(), exp, s.activation());
            SqueezeExcite se = s.se()
                    ? new SqueezeExcite(name + ".block." + sub++, exp, seSpec.squeezeChannels(exp), seSpec.layer(), seSpec.bias())
                    : null;
            ConvBnAct project = ConvBnAct.pointwise(name + ".block." + sub, exp, out, Activation.IDENTITY);
            // torchvision decides the residual on the declared stride, before dilation turns 2 into 1
            boolean residual = s.stride() == 1 && in == out;
            nodes.add(new Bottleneck(name, s, expand, dw, se, project, residual));
            in = out;
        }
        int head = MobileNetV3Config.HEAD_EXPANSION * in;
        nodes.add(ConvBnAct.pointwise("features." + (table.size() + 1), in, head, outer));
        nodes.add(new GlobalAvgPool("avgpool"));
        int hidden = config.scaled(config.effectiveLastChannel());
        nodes.add(new Linear("classifier.0", head, hidden, outer));
        nodes.add(new Linear("classifier.3", hidden, config.numClasses(), Activation.IDENTITY));
        return new Graph(config, nodes);
    }

    public MobileNetV3Config config() {
        return config;
    }

    public List<Node> nodes() {
        return nodes;
    }

    public Node node(String name) {
        for (Node n : nodes) {
            if (n.name().equals(name)) return n;
        }
        throw new IllegalArgumentException("no node named " + name);
    }

    /** Name of the node whose output is the logits. */
    public String outputNode() {
        return nodes.getLast().name();
    }

    public int numClasses() {
        return config.numClasses();
    }

    /** Every tensor the weights must hold, in graph order. */
    public List<ParamSpec> parameters() {
        List<ParamSpec> all = new ArrayList<>();
        for (Node n : nodes) all.addAll(n.parameters());
        return all;
    }

    public long params() {
        long n = 0;
        for (Node node : nodes) n = Math.addExact(n, node.params());
        return n;
    }

    /** Product of all strides: 32, or 16 when dilated. */
    public int outputStride() {
        int s = 1;
        for (Node n : nodes) s *= n.stride();
        return s;
    }

    /** The smallest height or width accepted: one output-stride cell, so the last feature map covers real pixels. */
    public int minInputSize() {
        return outputStride();
    }

    /** The per-image input shape followed by the output shape of each node ({@code nodes().size() + 1} entries). */
    public List<Shape> inferShapes(int height, int width) {
        checkSize(height, width);
        List<Shape> shapes = new ArrayList<>(nodes.size() + 1);
        Shape x = new Shape(INPUT_CHANNELS, height, width);
        shapes.add(x);
        for (Node n : nodes) {
            x = n.outputShape(x);
            shapes.add(x);
        }
        return shapes;
    }

    /** Multiply-adds per image; an error (never a wrapped count) when they exceed a 64-bit integer. */
    public long macs(int height, int width) {
        List<Shape> shapes = inferShapes(height, width);
        try {
            long n = 0;
            for (int i = 0; i < nodes.size(); i++) n = Math.addExact(n, nodes.get(i).macs(shapes.get(i)));
            return n;
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(config.describe() + " at " + height + "x" + width
                    + " has more than 2^63 multiply-adds per image: too large to count, let alone run");
        }
    }

    /**
     * The most floats one image holds at once while a node runs: its input, output and (in a
     * bottleneck) the expansion and depthwise outputs. What a plain, node-by-node run needs per image.
     */
    public long peakActivationFloats(int height, int width) {
        List<Shape> shapes = inferShapes(height, width);
        long peak = 0;
        for (int i = 0; i < nodes.size(); i++) {
            Shape in = shapes.get(i), out = shapes.get(i + 1);
            long held = Math.addExact(in.size(), out.size());
            if (nodes.get(i) instanceof Bottleneck b) {
                Shape dw = b.depthwise().outputShape(new Shape(b.expSize(), in.height(), in.width()));
                held = Math.addExact(held, Math.addExact(Math.multiplyExact((long) b.expSize(), (long) in.height() * in.width()),
                        dw.size()));
            }
            peak = Math.max(peak, held);
        }
        return peak;
    }

    /** The floats of every node's output for one image: what a traced run returns per image. */
    public long traceFloats(int height, int width) {
        List<Shape> shapes = inferShapes(height, width);
        long n = 0;
        for (int i = 1; i < shapes.size(); i++) n = Math.addExact(n, shapes.get(i).size());
        return n;
    }

    /** The last feature node at each cumulative stride (2/4/8/16/32), as timm's features_only returns them. */
    public List<FeatureLevel> featureLevels() {
        return featureLevels;
    }

    private static List<FeatureLevel> findFeatureLevels(List<Node> nodes) {
        List<FeatureLevel> levels = new ArrayList<>();
        int stride = 1;
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            if (!(n instanceof ConvBnAct) && !(n instanceof Bottleneck)) break;
            stride *= n.stride();
            int channels = n instanceof ConvBnAct c ? c.outChannels() : ((Bottleneck) n).outChannels();
            FeatureLevel level = new FeatureLevel(i, n.name(), stride, channels);
            if (!levels.isEmpty() && levels.getLast().stride() == stride) levels.set(levels.size() - 1, level);
            else levels.add(level);
        }
        return List.copyOf(levels);
    }

    /** Validates an NCHW input shape, naming what is wrong. */
    public void checkInput(int[] shape) {
        if (shape.length != 4) {
            throw new IllegalArgumentException("input must be a rank-4 tensor [N,3,H,W], got rank " + shape.length
                    + " " + Arrays.toString(shape));
        }
        if (shape[0] < 1) {
            throw new IllegalArgumentException("input batch size must be >= 1, got " + shape[0]);
        }
        if (shape[1] != INPUT_CHANNELS) {
            throw new IllegalArgumentException("input must have 3 channels (RGB) in dimension 1 of [N,3,H,W], got "
                    + shape[1] + " in " + Arrays.toString(shape));
        }
        checkSize(shape[2], shape[3]);
    }

    private void checkSize(int height, int width) {
        if (height > MAX_INPUT_SIZE || width > MAX_INPUT_SIZE) {
            throw new IllegalArgumentException("input " + height + "x" + width + " is too large: H and W must be at most "
                    + MAX_INPUT_SIZE);
        }
        int min = minInputSize();
        if (height < min || width < min) {
            throw new IllegalArgumentException("input " + height + "x" + width + " is too small: " + config.name()
                    + " needs H and W >= " + min + " (its output stride)");
        }
    }

    @Override
    public String toString() {
        return "Graph[" + config.describe() + ", " + nodes.size() + " nodes]";
    }
}
