package dev.mnv3.core.weights;

import dev.mnv3.core.CheckpointLayout;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.ParamSpec;
import dev.mnv3.core.tensor.Tensor;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Reads a graph's weights out of a checkpoint, checking every name, shape and dtype first. */
final class WeightLoader {
    private WeightLoader() {
    }

    static Weights load(Checkpoint checkpoint, Graph graph) {
        String file = checkpoint.path().getFileName().toString();
        CheckpointLayout detected = checkpoint.layout();
        MobileNetV3Config config = graph.config();
        CheckpointLayout declared = config.layout();
        if (declared == null && !config.bnEpsChosen() && config.bnEps() != detected.defaultBnEps()) {
            throw new IllegalArgumentException(file + " is in " + detected.describe() + ", trained with BatchNorm eps "
                    + detected.defaultBnEps() + ", but the graph has eps " + config.bnEps() + ", which nobody chose: build the graph "
                    + "from Checkpoint.configFor(config), or choose the eps (set MobileNetV3Config.bnEps)");
        }
        CheckpointLayout scheme = declared != null ? declared : detected;
        Map<String, StoredTensor> stored = checkpoint.tensors();
        Map<String, String> source = WeightNames.sourceNames(scheme, graph);
        WeightMismatchException.Builder problems = new WeightMismatchException.Builder(graph, file);
        Set<String> used = new HashSet<>();
        for (ParamSpec p : graph.parameters()) {
            String name = source.get(p.name());
            StoredTensor e = name == null ? null : stored.get(name);
            if (e == null) {
                problems.missing(renamed(p, name));
                continue;
            }
            used.add(name);
            if (!e.dtype().isFloat()) {
                problems.problem("wrong type: " + name + " is " + e.dtype() + ", expected a floating-point tensor");
            } else if (!fits(e.shape(), p.shape())) {
                problems.wrongShape(renamed(p, name), e.shapeString());
            }
        }
        for (StoredTensor e : stored.values()) {
            if (!used.contains(e.name()) && !e.name().endsWith("num_batches_tracked")) {
                problems.unexpected(e.name(), e.shapeString());
            }
        }
        if (problems.any()) {
            if (declared != null && declared != detected) {
                problems.hint("the file's names look like " + detected.describe() + ", but the model declares "
                        + declared.describe() + " (\"weight_names\" in its table)");
            }
            problems.hint(layoutHint(stored, detected, graph, scheme));
            if (problems.mismatched() > graph.parameters().size() / 2) {
                problems.hint("most tensors are missing or mis-shaped: are these weights for another --model or --width?");
            } else {
                problems.hint(classesHint(stored, source, graph));
            }
        }
        problems.throwIfAny();

        Weights.reserveFor(graph, "the weights of " + file);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (ParamSpec p : graph.parameters()) {
            tensors.put(p.name(), new Tensor(p.shape(), stored.get(source.get(p.name())).readFloats()));
        }
        return new Weights(tensors);
    }

    /** Same shape, or a 1x1 conv kernel [o,i,1,1] stored for a linear layer [o,i] (timm's conv_head). */
    private static boolean fits(long[] found, int[] expected) {
        long[] exp = Arrays.stream(expected).asLongStream().toArray();
        if (Arrays.equals(found, exp)) return true;
        return expected.length == 2 && found.length == 4 && found[0] == exp[0] && found[1] == exp[1]
                && found[2] == 1 && found[3] == 1;
    }

    private static ParamSpec renamed(ParamSpec p, String name) {
        return new ParamSpec(name == null ? p.name() : name, p.shape(), p.trainable());
    }

    /** Names the network the file looks like when it is not the model's, e.g. fewer bottlenecks or bias-free SE. */
    private static String layoutHint(Map<String, StoredTensor> stored, CheckpointLayout detected, Graph graph, CheckpointLayout scheme) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        stored.forEach((name, e) -> shapes.put(name, e.shape()));
        CheckpointSummary file = CheckpointSummary.of(detected, shapes), model = CheckpointSummary.of(scheme, graph);
        if (file.equals(model)) return null;
        return "the file looks like " + file.describe() + "; the model expects " + model.describe()
                + " (a JSON table for --model can describe the file's network: bottleneck rows, \"se_layer\", \"weight_names\")";
    }

    /** When only the classifier's output width differs, say which number of classes would fit. */
    private static String classesHint(Map<String, StoredTensor> stored, Map<String, String> source, Graph graph) {
        String out = graph.outputNode() + ".weight";
        StoredTensor e = stored.get(source.get(out));
        long[] shape = e == null ? null : e.shape();
        if (shape != null && shape.length == 2 && shape[0] != graph.numClasses()) {
            return "the file's classifier has " + shape[0] + " classes: set MobileNetV3Config.numClasses to " + shape[0];
        }
        return null;
    }
}
