package dev.mnv3.core.graph;

import java.util.List;

/** Mean over height and width: C x H x W -> C x 1 x 1. */
public record GlobalAvgPool(String name) implements Node {
    @Override
    public String op() {
        return "avgpool";
    }

    @Override
    public Shape outputShape(Shape input) {
        return new Shape(input.channels(), 1, 1);
    }

    @Override
    public int stride() {
        return 1;
    }

    @Override
    public List<ParamSpec> parameters() {
        return List.of();
    }

    @Override
    public long macs(Shape input) {
        return 0;
    }
}
