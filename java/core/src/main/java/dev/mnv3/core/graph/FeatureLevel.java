package dev.mnv3.core.graph;

/**
 * A feature map a detection backbone takes: the output of {@code node} (index {@code nodeIndex}
 * in {@link Graph#nodes()}), the last node at cumulative stride {@code stride}.
 */
public record FeatureLevel(int nodeIndex, String node, int stride, int channels) {
}
