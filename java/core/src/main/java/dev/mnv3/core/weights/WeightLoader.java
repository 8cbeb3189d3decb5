package dev.mnv3.core.weights;

import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.ParamSpec;
import dev.mnv3.core.tensor.Tensor;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Reads a graph's weights out of a safetensors file, checking every name, shape and dtype first. */
final class WeightLoader {
    private WeightLoader() {
    }

    static Weights load(SafeTensors st, Graph graph) {
        WeightNames scheme = WeightNames.detect(st.entries().keySet());
        Map<String, String> source = scheme.sourceNames(graph);
        WeightMismatchException.Builder problems = new WeightMismatchException.Builder(graph, st.path().getFileName().toString());
        Set<String> used = new HashSet<>();
        for (ParamSpec p : graph.parameters()) {
            String name = source.get(p.name());
            SafeTensors.Entry e = name == null ? null : st.entries().get(name);
            if (e == null) {
                problems.missing(scheme == WeightNames.TORCHVISION ? p : renamed(p, name));
                continue;
            }
            used.add(name);
            if (!e.dtype().isFloat()) {
                problems.problem("wrong type: " + name + " is " + e.dtype() + ", expected a floating-point tensor");
            } else if (!fits(e.shape(), p.shape())) {
                problems.wrongShape(renamed(p, name), e.shapeString());
            }
        }
        for (SafeTensors.Entry e : st.entries().values()) {
            if (!used.contains(e.name()) && !e.name().endsWith("num_batches_tracked")) {
                problems.unexpected(e.name(), e.shapeString());
            }
        }
        if (problems.mismatched() > graph.parameters().size() / 2) {
            problems.hint("most tensors are missing or mis-shaped: are these weights for another --model or --width?");
        } else {
            problems.hint(classesHint(st, source, graph));
        }
        problems.throwIfAny();

        Weights.reserveFor(graph, "the weights of " + st.path().getFileName());
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (ParamSpec p : graph.parameters()) {
            tensors.put(p.name(), new Tensor(p.shape(), st.readFloats(source.get(p.name()))));
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

    /** When only the classifier's output width differs, say which --classes would fit. */
    private static String classesHint(SafeTensors st, Map<String, String> source, Graph graph) {
        String out = graph.outputNode() + ".weight";
        SafeTensors.Entry e = st.entries().get(source.get(out));
        if (e != null && e.shape().length == 2 && e.shape()[0] != graph.numClasses()) {
            return "the file's classifier has " + e.shape()[0] + " classes: try --classes " + e.shape()[0];
        }
        return null;
    }
}
