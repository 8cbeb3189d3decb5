package dev.mnv3.core.weights;

import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.ParamSpec;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Deterministic random weights for demos and tests. Each tensor draws from its own stream,
 * seeded by the seed and the tensor's name, so the same name gets the same values whatever
 * else the graph contains. Kernels use He-style scaling so activations keep their magnitude
 * through the depth; BatchNorm statistics are deliberately far from identity so that folding
 * them is actually exercised.
 */
public final class RandomWeights {
    private RandomWeights() {
    }

    public static Weights generate(Graph graph, long seed) {
        Weights.reserveFor(graph, "random weights for " + graph.config().describe());
        return generate(graph.parameters(), seed);
    }

    /** The same weights for a few parameters outside a graph: one node's, for op-level tests. */
    public static Weights generate(Iterable<ParamSpec> parameters, long seed) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (ParamSpec p : parameters) {
            tensors.put(p.name(), tensor(p, seed));
        }
        return new Weights(tensors);
    }

    private static Tensor tensor(ParamSpec p, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ p.name().hashCode());
        int[] shape = p.shape();
        float[] v = new float[MemoryBudget.arrayLength(p.numel(), p.name() + " " + ParamSpec.shapeString(shape))];
        String n = p.name();
        if (n.endsWith("running_mean")) {
            fill(v, () -> 0.2 * gaussian(rnd));
        } else if (n.endsWith("running_var")) {
            fill(v, () -> 0.5 + 1.5 * rnd.nextDouble());
        } else if (shape.length == 1 && n.endsWith(".weight")) { // only BatchNorm scales are 1-D weights
            fill(v, () -> 0.5 + rnd.nextDouble());
        } else if (shape.length == 1) {
            fill(v, () -> 0.1 * gaussian(rnd));
        } else {
            int fanIn = 1;
            for (int i = 1; i < shape.length; i++) fanIn *= shape[i];
            double std = Math.sqrt(2.0 / fanIn);
            fill(v, () -> std * gaussian(rnd));
        }
        return new Tensor(shape, v);
    }

    private static void fill(float[] v, java.util.function.DoubleSupplier s) {
        for (int i = 0; i < v.length; i++) v[i] = (float) s.getAsDouble();
    }

    /** Box-Muller: specified here so the values never depend on the JDK's Gaussian algorithm. */
    static double gaussian(SplittableRandom rnd) {
        double u1 = 1.0 - rnd.nextDouble();
        double u2 = rnd.nextDouble();
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** A deterministic N(0,1) input batch [n, 3, h, w]. */
    public static Tensor input(int n, int h, int w, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(n, 3, h, w);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) gaussian(rnd);
        return t;
    }
}
