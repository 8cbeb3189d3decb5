package dev.mnv3.core.backend;

import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A graph with its weights prepared for one backend. Close it to free what the backend holds. */
public interface CompiledModel extends AutoCloseable {
    Graph graph();

    /** Name of the backend that compiled it. */
    String backend();

    /** Logits [N, classes] for an input batch [N, 3, H, W]. */
    Tensor run(Tensor input);

    /**
     * Every node's output by node name, in graph order (for node-by-node comparison between
     * backends). Feature maps are [N, C, H, W], {@code avgpool} [N, C, 1, 1], linear layers [N, K].
     */
    Map<String, Tensor> trace(Tensor input);

    /** The feature maps at strides 2/4/8/16/32 ({@link Graph#featureLevels()}), as a detection backbone takes them. */
    default List<Tensor> features(Tensor input) {
        Map<String, Tensor> t = trace(input);
        List<Tensor> out = new ArrayList<>();
        for (FeatureLevel l : graph().featureLevels()) out.add(t.get(l.node()));
        return out;
    }

    @Override
    void close();
}
