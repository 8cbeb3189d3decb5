package dev.mnv3.core.weights;

import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.ParamSpec;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tensors a graph runs with, by canonical (torchvision) name, as float32. Instances built by
 * {@link #load} or {@link RandomWeights} hold exactly the graph's {@link Graph#parameters()},
 * with the expected shapes.
 */
public final class Weights {
    private final Map<String, Tensor> tensors;

    public Weights(Map<String, Tensor> tensors) {
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }

    /**
     * Loads a checkpoint (safetensors or PyTorch) for {@code graph}: {@link Checkpoint#weightsFor}
     * of {@link Checkpoint#open}. torchvision names are read as they are, timm and sequential names
     * are mapped ({@link WeightNames}): in the layout the config declares, or else the one detected
     * from the file's names. Build the graph from {@link Checkpoint#configFor} (so it has the eps of
     * the file's layout), or this refuses a file whose layout's eps the graph lacks.
     */
    public static Weights load(Path file, Graph graph) throws IOException {
        try (Checkpoint checkpoint = Checkpoint.open(file)) {
            return checkpoint.weightsFor(graph);
        }
    }

    /**
     * Checks that the float32 weights of {@code graph} fit one Java array per tensor and the heap
     * as a whole, before any is allocated.
     */
    public static void reserveFor(Graph graph, String what) {
        long floats = 0;
        for (ParamSpec p : graph.parameters()) {
            MemoryBudget.arrayLength(p.numel(), p.name() + " " + ParamSpec.shapeString(p.shape()));
            floats += p.numel(); // each below 2^31, and a graph has a few hundred
        }
        MemoryBudget.reserve(MemoryBudget.floatBytes(floats, what), what);
    }

    public Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException("no weight named " + name);
        return t;
    }

    public float[] data(String name) {
        return get(name).data();
    }

    public Map<String, Tensor> asMap() {
        return tensors;
    }

    /** Writes these weights as float32 safetensors under their canonical names. */
    public void save(Path file, Map<String, String> metadata) throws IOException {
        SafeTensorsWriter.write(file, tensors, metadata);
    }

    /** Checks that these weights have exactly the tensors and shapes {@code graph} needs. */
    public void checkFits(Graph graph) {
        WeightMismatchException.Builder problems = new WeightMismatchException.Builder(graph, "the weights");
        for (ParamSpec p : graph.parameters()) {
            Tensor t = tensors.get(p.name());
            if (t == null) problems.missing(p);
            else if (!java.util.Arrays.equals(t.shape(), p.shape())) problems.wrongShape(p, t.shapeString());
        }
        java.util.Set<String> expected = new java.util.HashSet<>();
        for (ParamSpec p : graph.parameters()) expected.add(p.name());
        for (String name : tensors.keySet()) {
            if (!expected.contains(name)) problems.unexpected(name, tensors.get(name).shapeString());
        }
        problems.throwIfAny();
    }
}
