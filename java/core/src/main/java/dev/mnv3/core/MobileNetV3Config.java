package dev.mnv3.core;

import static dev.mnv3.core.Activation.HARDSWISH;
import static dev.mnv3.core.Activation.RELU;

import dev.mnv3.core.io.InputFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Everything that defines a MobileNetV3 network: the bottleneck table (torchvision's Large or
 * Small, or a user-defined one) and the options applied on top of it. Immutable; the
 * {@code with*} methods return modified copies.
 *
 * @param name             "large", "small" or a user-chosen name for a custom table
 * @param table            bottleneck rows before options and width scaling
 * @param stemChannels     output channels of the 3x3 stride-2 stem (before width scaling)
 * @param lastChannel      hidden width of the classifier (1280 Large, 1024 Small; width-scaled)
 * @param widthMultiplier  scales every channel count through {@link #makeDivisible}
 * @param numClasses       classifier outputs
 * @param bnEps            BatchNorm epsilon (1e-3 torchvision, 1e-5 timm and plain PyTorch)
 * @param reducedTail      halve exp/out channels of the last stage and the classifier width
 * @param dilated          last stage runs at stride 1 with dilation 2 (output stride 16)
 * @param minimalistic     Keras/timm "minimalistic": 3x3 kernels, ReLU everywhere, no SE
 * @param squeezeExcite    how the SE modules are built (torchvision's by default)
 * @param layout           the checkpoint layout the weights come in, or null to detect it from each file
 * @param bnEpsChosen      whether bnEps was set explicitly; if not, {@link #forLayout} may
 *                         replace it by the default of the checkpoint's layout
 */
public record MobileNetV3Config(String name, List<BottleneckSpec> table, int stemChannels, int lastChannel,
                                double widthMultiplier, int numClasses, double bnEps,
                                boolean reducedTail, boolean dilated, boolean minimalistic,
                                SqueezeExciteSpec squeezeExcite, CheckpointLayout layout, boolean bnEpsChosen)
        implements java.io.Serializable { // serializable: a Spark job ships it to its executors

    /** The expansion of the head 1x1 conv over the last bottleneck's output (960 = 6 x 160). */
    public static final int HEAD_EXPANSION = 6;
    public static final double TORCHVISION_BN_EPS = 1e-3;
    public static final double TIMM_BN_EPS = 1e-5;
    /** The most classifier outputs (ImageNet-21k has 21,841): keeps the classifier's weights within one Java array. */
    public static final int MAX_CLASSES = 1 << 20;
    /** A table file is a few hundred bytes; anything past this is not one. */
    static final long MAX_TABLE_FILE_BYTES = 1 << 20;

    public MobileNetV3Config {
        table = List.copyOf(table);
        if (table.isEmpty()) {
            throw new IllegalArgumentException("the bottleneck table is empty");
        }
        if (!(widthMultiplier > 0) || widthMultiplier > 8) {
            throw new IllegalArgumentException("width multiplier must be in (0, 8], got " + widthMultiplier);
        }
        if (numClasses < 1 || numClasses > MAX_CLASSES) {
            throw new IllegalArgumentException("number of classes must be from 1 to " + MAX_CLASSES + ", got " + numClasses);
        }
        if (!(bnEps > 0)) {
            throw new IllegalArgumentException("BatchNorm eps must be > 0, got " + bnEps);
        }
        if (stemChannels < 1 || lastChannel < 1 || stemChannels > BottleneckSpec.MAX_CHANNELS
                || lastChannel > BottleneckSpec.MAX_CHANNELS) {
            throw new IllegalArgumentException("stem and last channels must be from 1 to " + BottleneckSpec.MAX_CHANNELS
                    + ", got stem " + stemChannels + ", last channel " + lastChannel);
        }
        if (squeezeExcite == null) {
            throw new IllegalArgumentException("the squeeze-excitation spec is required");
        }
    }

    /** torchvision's mobilenet_v3_large table. */
    public static MobileNetV3Config large() {
        List<BottleneckSpec> t = List.of(
                b(3, 16, 16, false, RELU, 1), b(3, 64, 24, false, RELU, 2), b(3, 72, 24, false, RELU, 1),
                b(5, 72, 40, true, RELU, 2), b(5, 120, 40, true, RELU, 1), b(5, 120, 40, true, RELU, 1),
                b(3, 240, 80, false, HARDSWISH, 2), b(3, 200, 80, false, HARDSWISH, 1),
                b(3, 184, 80, false, HARDSWISH, 1), b(3, 184, 80, false, HARDSWISH, 1),
                b(3, 480, 112, true, HARDSWISH, 1), b(3, 672, 112, true, HARDSWISH, 1),
                b(5, 672, 160, true, HARDSWISH, 2), b(5, 960, 160, true, HARDSWISH, 1),
                b(5, 960, 160, true, HARDSWISH, 1));
        return custom("large", 16, 1280, t);
    }

    /** torchvision's mobilenet_v3_small table. */
    public static MobileNetV3Config small() {
        List<BottleneckSpec> t = List.of(
                b(3, 16, 16, true, RELU, 2), b(3, 72, 24, false, RELU, 2), b(3, 88, 24, false, RELU, 1),
                b(5, 96, 40, true, HARDSWISH, 2), b(5, 240, 40, true, HARDSWISH, 1),
                b(5, 240, 40, true, HARDSWISH, 1), b(5, 120, 48, true, HARDSWISH, 1),
                b(5, 144, 48, true, HARDSWISH, 1), b(5, 288, 96, true, HARDSWISH, 2),
                b(5, 576, 96, true, HARDSWISH, 1), b(5, 576, 96, true, HARDSWISH, 1));
        return custom("small", 16, 1024, t);
    }

    /** A user-defined table with torchvision's defaults for everything else. */
    public static MobileNetV3Config custom(String name, int stemChannels, int lastChannel, List<BottleneckSpec> table) {
        return new MobileNetV3Config(name, table, stemChannels, lastChannel, 1.0, 1000, TORCHVISION_BN_EPS,
                false, false, false, SqueezeExciteSpec.TORCHVISION, null, false);
    }

    /** True for the names of torchvision's tables, which {@link #named} reads without a file. */
    public static boolean isBuiltIn(String model) {
        return List.of("large", "mobilenet_v3_large", "small", "mobilenet_v3_small").contains(model.toLowerCase(Locale.ROOT));
    }

    /** "large", "small" (any case), or the path of a JSON table file (see {@link #fromJson}). */
    public static MobileNetV3Config named(String model) throws IOException {
        return switch (model.toLowerCase(Locale.ROOT)) {
            case "large", "mobilenet_v3_large" -> large();
            case "small", "mobilenet_v3_small" -> small();
            default -> {
                Path p = Path.of(model);
                if (!Files.exists(p)) {
                    throw new IllegalArgumentException(
                            "unknown model '" + model + "': expected large, small or the path of a JSON table file");
                }
                yield fromJson(p);
            }
        };
    }

    /**
     * Reads a user-defined table:
     * <pre>{"name": "tiny", "stem": 16, "last_channel": 1024, "bn_eps": 1e-5, "weight_names": "sequential",
     *  "se_layer": {"layer": "linear", "bias": false, "divisor": 4, "round_to": 1},
     *  "blocks": [{"kernel": 3, "exp": 16, "out": 16, "se": true, "act": "RE", "stride": 2, "dilation": 1}]}</pre>
     * Everything but {@code blocks} and each block's {@code kernel}, {@code exp} and {@code out} is
     * optional: {@code name} (the file name), {@code stem} (16), {@code last_channel} (1280),
     * {@code bn_eps} (the default of the weights' layout), {@code weight_names} (detected from each
     * weights file), {@code se_layer} (torchvision's SE, see {@link SqueezeExciteSpec#fromJson}), and
     * each block's {@code se} (false), {@code act} (RE), {@code stride} (1) and {@code dilation} (1).
     */
    public static MobileNetV3Config fromJson(Path file) throws IOException {
        String text = InputFiles.readUtf8(file, MAX_TABLE_FILE_BYTES);
        try {
            return fromJson(Json.parse(text), file.getFileName().toString());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    static MobileNetV3Config fromJson(Object json, String defaultName) {
        Map<String, Object> root = Json.object(json, "the table file");
        Json.checkKeys(root, "the table file", "name", "stem", "last_channel", "bn_eps", "weight_names", "se_layer", "blocks");
        String name = root.containsKey("name") ? Json.string(root.get("name"), "name") : defaultName;
        int stem = root.containsKey("stem") ? Json.intValue(root.get("stem"), "stem") : 16;
        int last = root.containsKey("last_channel") ? Json.intValue(root.get("last_channel"), "last_channel") : 1280;
        if (!root.containsKey("blocks")) {
            throw new IllegalArgumentException("missing \"blocks\": a list of bottleneck rows");
        }
        List<Object> rows = Json.array(root.get("blocks"), "blocks");
        List<BottleneckSpec> table = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            String where = "blocks[" + i + "]";
            Map<String, Object> r = Json.object(rows.get(i), where);
            Json.checkKeys(r, where, "kernel", "exp", "out", "se", "act", "stride", "dilation");
            for (String k : List.of("kernel", "exp", "out")) {
                if (!r.containsKey(k)) {
                    throw new IllegalArgumentException(where + ": missing \"" + k + "\"");
                }
            }
            try {
                table.add(new BottleneckSpec(
                        Json.intValue(r.get("kernel"), where + ".kernel"),
                        Json.intValue(r.get("exp"), where + ".exp"),
                        Json.intValue(r.get("out"), where + ".out"),
                        r.containsKey("se") && Json.bool(r.get("se"), where + ".se"),
                        r.containsKey("act") ? Activation.parse(Json.string(r.get("act"), where + ".act")) : RELU,
                        r.containsKey("stride") ? Json.intValue(r.get("stride"), where + ".stride") : 1,
                        r.containsKey("dilation") ? Json.intValue(r.get("dilation"), where + ".dilation") : 1));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
        }
        MobileNetV3Config c = custom(name, stem, last, table);
        if (root.containsKey("se_layer")) c = c.withSqueezeExcite(SqueezeExciteSpec.fromJson(root.get("se_layer"), "se_layer"));
        if (root.containsKey("bn_eps")) c = c.withBnEps(Json.doubleValue(root.get("bn_eps"), "bn_eps"));
        if (root.containsKey("weight_names")) {
            c = c.forLayout(CheckpointLayout.parse(Json.string(root.get("weight_names"), "weight_names")));
        }
        return c;
    }

    public MobileNetV3Config withWidth(double w) {
        return new MobileNetV3Config(name, table, stemChannels, lastChannel, w, numClasses, bnEps, reducedTail, dilated,
                minimalistic, squeezeExcite, layout, bnEpsChosen);
    }

    public MobileNetV3Config withClasses(int k) {
        return new MobileNetV3Config(name, table, stemChannels, lastChannel, widthMultiplier, k, bnEps, reducedTail, dilated,
                minimalistic, squeezeExcite, layout, bnEpsChosen);
    }

    /** An explicit eps, which no checkpoint layout's default replaces. */
    public MobileNetV3Config withBnEps(double eps) {
        return new MobileNetV3Config(name, table, stemChannels, lastChannel, widthMultiplier, numClasses, eps, reducedTail,
                dilated, minimalistic, squeezeExcite, layout, true);
    }

    public MobileNetV3Config withReducedTail(boolean on) {
        return new MobileNetV3Config(name, table, stemChannels, lastChannel, widthMultiplier, numClasses, bnEps, on, dilated,
                minimalistic, squeezeExcite, layout, bnEpsChosen);
    }

    public MobileNetV3Config withDilated(boolean on) {
        return new MobileNetV3Config(name, table, stemChannels, lastChannel, widthMultiplier, numClasses, bnEps, reducedTail, on,
                minimalistic, squeezeExcite, layout, bnEpsChosen);
    }

    public MobileNetV3Config withMinimalistic(boolean on) {
        return new MobileNetV3Config(name, table, stemChannels, lastChannel, widthMultiplier, numClasses, bnEps, reducedTail,
                dilated, on, squeezeExcite, layout, bnEpsChosen);
    }

    public MobileNetV3Config withSqueezeExcite(SqueezeExciteSpec se) {
        return new MobileNetV3Config(name, table, stemChannels, lastChannel, widthMultiplier, numClasses, bnEps, reducedTail,
                dilated, minimalistic, se, layout, bnEpsChosen);
    }

    /**
     * This network with its weights in {@code layout}: unless the eps was chosen explicitly, it
     * becomes that layout's default (timm and plain PyTorch code use 1e-5).
     */
    public MobileNetV3Config forLayout(CheckpointLayout layout) {
        return new MobileNetV3Config(name, table, stemChannels, lastChannel, widthMultiplier, numClasses,
                bnEpsChosen ? bnEps : layout.defaultBnEps(), reducedTail, dilated, minimalistic, squeezeExcite, layout, bnEpsChosen);
    }

    /**
     * The table with the options applied, still unscaled. "The last stage" (the rows from the
     * last stride-2 row on) is what reduced_tail halves and dilated dilates, as in torchvision:
     * reduced_tail halves every output width there and the exp size of all but the first row
     * (whose input is still full width).
     */
    public List<BottleneckSpec> effectiveTable() {
        int lastStage = 0;
        for (int i = 0; i < table.size(); i++) {
            if (table.get(i).stride() == 2) lastStage = i;
        }
        List<BottleneckSpec> out = new ArrayList<>(table.size());
        for (int i = 0; i < table.size(); i++) {
            BottleneckSpec s = table.get(i);
            if (i >= lastStage && reducedTail) s = s.reduced(i > lastStage);
            if (i >= lastStage && dilated) s = s.withDilation(2);
            if (minimalistic) s = s.minimal();
            out.add(s);
        }
        return out;
    }

    /** Classifier hidden width after reduced_tail, before width scaling. */
    public int effectiveLastChannel() {
        return reducedTail ? lastChannel / 2 : lastChannel;
    }

    /** Activation of the stem, the head conv and the classifier's hidden layer. */
    public Activation outerActivation() {
        return minimalistic ? RELU : HARDSWISH;
    }

    /** Channel count after the width multiplier, rounded as torchvision does. */
    public int scaled(int channels) {
        return makeDivisible(channels * widthMultiplier, 8);
    }

    /** torchvision/TF's _make_divisible: nearest multiple of divisor, at least divisor, never below 90% of v. */
    public static int makeDivisible(double v, int divisor) {
        int rounded = Math.max(divisor, (int) (v + divisor / 2.0) / divisor * divisor);
        if (rounded < 0.9 * v) rounded += divisor;
        return rounded;
    }

    /** A short human description, e.g. {@code large(width 0.75, 1000 classes, reduced tail)}. */
    public String describe() {
        StringBuilder sb = new StringBuilder(name).append("(width ").append(widthMultiplier)
                .append(", ").append(numClasses).append(" classes");
        if (reducedTail) sb.append(", reduced tail");
        if (dilated) sb.append(", dilated");
        if (minimalistic) sb.append(", minimalistic");
        if (bnEps != TORCHVISION_BN_EPS) sb.append(", bn eps ").append(bnEps);
        if (!squeezeExcite.equals(SqueezeExciteSpec.TORCHVISION) && !minimalistic && table.stream().anyMatch(BottleneckSpec::se)) sb.append(", SE ").append(squeezeExcite.describe());
        return sb.append(')').toString();
    }

    private static BottleneckSpec b(int k, int exp, int out, boolean se, Activation act, int stride) {
        return new BottleneckSpec(k, exp, out, se, act, stride);
    }
}
