package dev.mnv3.core.graph;

import dev.mnv3.core.BottleneckSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * One inverted-residual bottleneck with its channel counts resolved: {@code expand} is null when
 * the exp size equals the input channels, {@code se} is null without squeeze-excitation.
 */
public record Bottleneck(String name, BottleneckSpec spec, ConvBnAct expand, ConvBnAct depthwise,
                         SqueezeExcite se, ConvBnAct project, boolean residual) implements Node {

    public int inChannels() {
        return expand != null ? expand.inChannels() : depthwise.inChannels();
    }

    public int expSize() {
        return depthwise.outChannels();
    }

    public int outChannels() {
        return project.outChannels();
    }

    @Override
    public String op() {
        int k = depthwise.kernel();
        return "bneck" + k + "x" + k + (depthwise.stride() > 1 ? "/" + depthwise.stride() : "")
                + (depthwise.dilation() > 1 ? " d" + depthwise.dilation() : "")
                + (se != null ? " SE" : "") + " " + depthwise.activation().shortName() + (residual ? " +res" : "");
    }

    @Override
    public Shape outputShape(Shape input) {
        Node.expectChannels(this, input, inChannels());
        Shape x = expand != null ? expand.outputShape(input) : input;
        return project.outputShape(depthwise.outputShape(x));
    }

    @Override
    public int stride() {
        return depthwise.stride();
    }

    @Override
    public List<ParamSpec> parameters() {
        List<ParamSpec> p = new ArrayList<>();
        if (expand != null) p.addAll(expand.parameters());
        p.addAll(depthwise.parameters());
        if (se != null) p.addAll(se.parameters());
        p.addAll(project.parameters());
        return p;
    }

    @Override
    public long macs(Shape input) {
        Shape x = input;
        long n = 0;
        if (expand != null) {
            n = expand.macs(x);
            x = expand.outputShape(x);
        }
        n = Math.addExact(n, depthwise.macs(x));
        x = depthwise.outputShape(x);
        if (se != null) n = Math.addExact(n, se.macs(x));
        return Math.addExact(n, project.macs(x));
    }
}
