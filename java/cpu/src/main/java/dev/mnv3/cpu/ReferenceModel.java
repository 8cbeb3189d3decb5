package dev.mnv3.cpu;

import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.FoldedConv;
import dev.mnv3.core.backend.SeWeights;
import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.GlobalAvgPool;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Weights;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/** One straight walk over the graph's nodes with {@link ReferenceOps}. */
final class ReferenceModel implements CompiledModel {
    private final Graph graph;
    private final Weights weights;
    private final Map<ConvBnAct, FoldedConv> folded = new HashMap<>();
    private volatile boolean closed;

    ReferenceModel(Graph graph, Weights weights) {
        this.graph = graph;
        this.weights = weights;
        double eps = graph.config().bnEps();
        for (Node n : graph.nodes()) {
            switch (n) {
                case ConvBnAct c -> folded.put(c, FoldedConv.fold(c, weights, eps));
                case Bottleneck b -> {
                    if (b.expand() != null) folded.put(b.expand(), FoldedConv.fold(b.expand(), weights, eps));
                    folded.put(b.depthwise(), FoldedConv.fold(b.depthwise(), weights, eps));
                    folded.put(b.project(), FoldedConv.fold(b.project(), weights, eps));
                }
                default -> { }
            }
        }
    }

    @Override
    public Graph graph() {
        return graph;
    }

    @Override
    public String backend() {
        return ReferenceBackend.NAME;
    }

    @Override
    public Tensor run(Tensor input) {
        return forward(input, null);
    }

    @Override
    public Map<String, Tensor> trace(Tensor input) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        forward(input, out);
        return out;
    }

    private Tensor forward(Tensor input, Map<String, Tensor> trace) {
        if (closed) throw new IllegalStateException("this compiled model was closed");
        input = CompiledModel.floatInput(graph, input);
        reserveActivations(input.dim(0), input.dim(2), input.dim(3), trace != null);
        Tensor x = input;
        for (Node n : graph.nodes()) {
            x = switch (n) {
                case ConvBnAct c -> ReferenceOps.conv(x, folded.get(c));
                case Bottleneck b -> bottleneck(b, x);
                case GlobalAvgPool p -> ReferenceOps.globalAvgPool(x);
                case Linear l -> ReferenceOps.linear(x, weights.data(l.name() + ".weight"), weights.data(l.name() + ".bias"),
                        l.activation());
            };
            if (trace != null) trace.put(n.name(), x);
        }
        return x;
    }

    private Tensor bottleneck(Bottleneck b, Tensor x) {
        Tensor y = b.expand() != null ? ReferenceOps.conv(x, folded.get(b.expand())) : x;
        y = ReferenceOps.conv(y, folded.get(b.depthwise()));
        if (b.se() != null) {
            SeWeights se = SeWeights.of(b.se(), weights);
            ReferenceOps.squeezeExcite(y, se.fc1Weight(), se.fc1Bias(), se.fc2Weight(), se.fc2Bias());
        }
        y = ReferenceOps.conv(y, folded.get(b.project()));
        if (b.residual()) ReferenceOps.addInPlace(y, x);
        return y;
    }

    /** Every node allocates its output: check the most held at once (all of them when traced) before starting. */
    private void reserveActivations(int n, int h, int w, boolean traced) {
        String what = (traced ? "a traced run" : "a run") + " of " + graph.config().describe() + " on " + n + " image"
                + (n > 1 ? "s" : "") + " of " + h + "x" + w + " on " + ReferenceBackend.NAME;
        long perImage = traced ? graph.traceFloats(h, w) + graph.peakActivationFloats(h, w) : graph.peakActivationFloats(h, w);
        MemoryBudget.reserve(MemoryBudget.floatBytes(Math.multiplyExact(perImage, (long) n), what), what);
    }

    @Override
    public void close() {
        closed = true; // only the Java heap is held; a closed model refuses to run, as every backend's does
    }
}
