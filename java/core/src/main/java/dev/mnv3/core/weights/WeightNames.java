package dev.mnv3.core.weights;

import dev.mnv3.core.CheckpointLayout;
import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.graph.ParamSpec;
import dev.mnv3.core.graph.SqueezeExcite;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The names each {@link CheckpointLayout} gives a graph's tensors, and how a file's layout is
 * told from its names. torchvision's names are canonical; the others are mapped onto them.
 *
 * <p>timm groups blocks into stages ({@code blocks.S.B}) that begin at each stride-2 row and
 * wherever the output width changes, names a block without expansion
 * {@code conv_dw/bn1/conv_pw/bn2} and one with it {@code conv_pw/bn1/conv_dw/bn2/conv_pwl/bn3},
 * and stores the first classifier layer as a 1x1 {@code conv_head} with bias.
 *
 * <p>The sequential layout is that of the many community implementations whose bottleneck keeps
 * its layers in one {@code nn.Sequential} named {@code conv}: conv, BatchNorm and activation
 * modules each take an index ({@code features.N.conv.K}), the SE module one more, with its two
 * FCs at {@code fc.0} and {@code fc.2}. Stem, head conv and classifier are named as torchvision's.
 */
public final class WeightNames {
    private static final Pattern SEQUENTIAL_BLOCK = Pattern.compile("^features\\.\\d+\\.conv\\.\\d+\\.");
    private static final Map<CheckpointLayout, Pattern> BOTTLENECK_NAME = Map.of(
            CheckpointLayout.TORCHVISION, Pattern.compile("^features\\.(\\d+)\\.block\\."),
            CheckpointLayout.TIMM, Pattern.compile("^blocks\\.(\\d+\\.\\d+)\\.conv_dw\\.weight$"),
            CheckpointLayout.SEQUENTIAL, Pattern.compile("^features\\.(\\d+)\\.conv\\."));
    private static final Map<CheckpointLayout, String> SE_WEIGHT_SUFFIX = Map.of(
            CheckpointLayout.TORCHVISION, ".fc1.weight", CheckpointLayout.TIMM, ".se.conv_reduce.weight",
            CheckpointLayout.SEQUENTIAL, ".fc.0.weight");

    private WeightNames() {
    }

    /** timm when the file has timm's stem, sequential when a block holds {@code conv.K}, otherwise torchvision. */
    public static CheckpointLayout detect(Set<String> names) {
        if (names.contains("conv_stem.weight")) return CheckpointLayout.TIMM;
        for (String n : names) {
            if (SEQUENTIAL_BLOCK.matcher(n).find()) return CheckpointLayout.SEQUENTIAL;
        }
        return CheckpointLayout.TORCHVISION;
    }

    /** Matches a name inside a bottleneck of {@code layout}; group 1 tells the bottlenecks apart. */
    static Pattern bottleneckName(CheckpointLayout layout) {
        return BOTTLENECK_NAME.get(layout);
    }

    /** How the name of an SE module's first weight ends in {@code layout}. */
    static String seWeightSuffix(CheckpointLayout layout) {
        return SE_WEIGHT_SUFFIX.get(layout);
    }

    /** For each canonical name of {@code graph}, the name {@code layout} stores it under. */
    public static Map<String, String> sourceNames(CheckpointLayout layout, Graph graph) {
        Map<String, String> map = new HashMap<>();
        if (layout == CheckpointLayout.TORCHVISION) {
            for (ParamSpec p : graph.parameters()) map.put(p.name(), p.name());
            return map;
        }
        if (layout == CheckpointLayout.SEQUENTIAL) return sequentialNames(graph);
        List<Node> nodes = graph.nodes();
        int stage = -1, indexInStage = 0, lastOut = -1;
        for (Node n : nodes) {
            switch (n) {
                case ConvBnAct c when c.name().equals("features.0") -> conv(map, c, "conv_stem", "bn1");
                case Bottleneck b -> {
                    // timm's stages start at each declared stride 2 and where the table's (unscaled) width
                    // changes; scaled widths can coincide (Small at width 0.5: 40 and 48 both become 24)
                    if (b.spec().stride() == 2 || b.spec().outChannels() != lastOut) {
                        stage++;
                        indexInStage = 0;
                    }
                    String p = "blocks." + stage + "." + indexInStage++ + ".";
                    if (b.expand() != null) {
                        conv(map, b.expand(), p + "conv_pw", p + "bn1");
                        conv(map, b.depthwise(), p + "conv_dw", p + "bn2");
                        conv(map, b.project(), p + "conv_pwl", p + "bn3");
                    } else {
                        conv(map, b.depthwise(), p + "conv_dw", p + "bn1");
                        conv(map, b.project(), p + "conv_pw", p + "bn2");
                    }
                    if (b.se() != null) se(map, b.se(), p + "se.conv_reduce", p + "se.conv_expand");
                    lastOut = b.spec().outChannels();
                }
                case ConvBnAct head -> conv(map, head, "blocks." + (stage + 1) + ".0.conv", "blocks." + (stage + 1) + ".0.bn1");
                case dev.mnv3.core.graph.Linear l when l.name().equals("classifier.0") -> {
                    map.put("classifier.0.weight", "conv_head.weight");
                    map.put("classifier.0.bias", "conv_head.bias");
                }
                case dev.mnv3.core.graph.Linear l -> {
                    map.put(l.name() + ".weight", "classifier.weight");
                    map.put(l.name() + ".bias", "classifier.bias");
                }
                default -> { }
            }
        }
        return map;
    }

    private static void conv(Map<String, String> map, ConvBnAct c, String conv, String bn) {
        map.put(c.weightName(), conv + ".weight");
        for (String s : List.of("weight", "bias", "running_mean", "running_var")) {
            map.put(c.bnPrefix() + "." + s, bn + "." + s);
        }
    }

    /** Stem, head and classifier as torchvision names them; each block's layers by their index in its Sequential. */
    private static Map<String, String> sequentialNames(Graph graph) {
        Map<String, String> map = new HashMap<>();
        for (Node n : graph.nodes()) {
            if (!(n instanceof Bottleneck b)) {
                for (ParamSpec p : n.parameters()) map.put(p.name(), p.name());
                continue;
            }
            String p = b.name() + ".conv.";
            int k = 0;
            if (b.expand() != null) {
                conv(map, b.expand(), p + k, p + (k + 1));
                k += 3; // conv, BatchNorm, activation
            }
            conv(map, b.depthwise(), p + k, p + (k + 1));
            k += 3;
            if (b.se() != null) se(map, b.se(), p + k + ".fc.0", p + k++ + ".fc.2"); // fc.1 is the ReLU
            conv(map, b.project(), p + k, p + (k + 1));
        }
        return map;
    }

    private static void se(Map<String, String> map, SqueezeExcite se, String fc1, String fc2) {
        List<String> tensors = se.bias() ? List.of("weight", "bias") : List.of("weight");
        for (String s : tensors) {
            map.put(se.name() + ".fc1." + s, fc1 + "." + s);
            map.put(se.name() + ".fc2." + s, fc2 + "." + s);
        }
    }
}
