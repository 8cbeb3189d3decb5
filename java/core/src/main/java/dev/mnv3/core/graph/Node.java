package dev.mnv3.core.graph;

import java.util.List;

/**
 * One step of the forward pass, named as torchvision names the module ({@code features.4},
 * {@code avgpool}, {@code classifier.0}). A traced run returns one tensor per node.
 */
public sealed interface Node permits ConvBnAct, Bottleneck, GlobalAvgPool, Linear {
    String name();

    /** A short description for tables, e.g. {@code conv3x3/2 HS} or {@code bneck5x5/2 SE HS}. */
    String op();

    /** Shape inference; throws if {@code input} does not have the channels this node expects. */
    Shape outputShape(Shape input);

    /** Spatial downsampling factor of this node (1 or 2). */
    int stride();

    /** Every tensor this node reads from the weights, by canonical name. */
    List<ParamSpec> parameters();

    /** Multiply-adds for one image of the given input shape. */
    long macs(Shape input);

    /** Trainable parameter count, as torchvision counts it (BatchNorm statistics excluded). */
    default long params() {
        long n = 0;
        for (ParamSpec p : parameters()) {
            if (p.trainable()) n = Math.addExact(n, p.numel());
        }
        return n;
    }

    static void expectChannels(Node node, Shape input, int channels) {
        if (input.channels() != channels) {
            throw new IllegalArgumentException(node.name() + " expects " + channels + " input channels, got " + input.channels());
        }
    }
}
