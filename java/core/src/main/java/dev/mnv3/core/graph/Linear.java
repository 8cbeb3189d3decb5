package dev.mnv3.core.graph;

import dev.mnv3.core.Activation;
import java.util.List;

/** Fully connected layer with bias ({@code name.weight} [out, in], {@code name.bias} [out]) + activation. */
public record Linear(String name, int inFeatures, int outFeatures, Activation activation) implements Node {
    @Override
    public String op() {
        return activation == Activation.IDENTITY ? "linear" : "linear " + activation.shortName();
    }

    @Override
    public Shape outputShape(Shape input) {
        if (input.size() != inFeatures) {
            throw new IllegalArgumentException(name + " expects " + inFeatures + " features, got " + input.size());
        }
        return new Shape(outFeatures, 1, 1);
    }

    @Override
    public int stride() {
        return 1;
    }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(new ParamSpec(name + ".weight", new int[] {outFeatures, inFeatures}, true),
                new ParamSpec(name + ".bias", new int[] {outFeatures}, true));
    }

    @Override
    public long macs(Shape input) {
        return (long) inFeatures * outFeatures;
    }
}
