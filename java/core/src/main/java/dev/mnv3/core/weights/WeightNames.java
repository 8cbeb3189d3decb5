package dev.mnv3.core.weights;

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

/**
 * Naming schemes of MobileNetV3 checkpoints. torchvision's names are canonical; timm's are
 * mapped onto them. timm groups blocks into stages ({@code blocks.S.B}) that begin at each stride-2
 * row and wherever the output width changes,
 * names a block without expansion {@code conv_dw/bn1/conv_pw/bn2} and one with it
 * {@code conv_pw/bn1/conv_dw/bn2/conv_pwl/bn3}, and stores the first classifier layer as a
 * 1x1 {@code conv_head} with bias.
 */
public enum WeightNames {
    TORCHVISION, TIMM;

    /** timm when the file has timm's stem, otherwise torchvision. */
    public static WeightNames detect(Set<String> names) {
        return names.contains("conv_stem.weight") ? TIMM : TORCHVISION;
    }

    /** For each canonical name of {@code graph}, the name this scheme stores it under. */
    public Map<String, String> sourceNames(Graph graph) {
        Map<String, String> map = new HashMap<>();
        if (this == TORCHVISION) {
            for (ParamSpec p : graph.parameters()) map.put(p.name(), p.name());
            return map;
        }
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
                    if (b.se() != null) se(map, b.se(), p + "se");
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

    private static void se(Map<String, String> map, SqueezeExcite se, String prefix) {
        for (String s : List.of("weight", "bias")) {
            map.put(se.name() + ".fc1." + s, prefix + ".conv_reduce." + s);
            map.put(se.name() + ".fc2." + s, prefix + ".conv_expand." + s);
        }
    }
}
