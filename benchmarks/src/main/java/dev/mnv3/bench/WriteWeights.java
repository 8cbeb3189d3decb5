package dev.mnv3.bench;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.RandomWeights;
import java.nio.file.Path;
import java.util.Map;

/** Writes the seeded random weights the benchmarks use: {@code WriteWeights large|small FILE}. */
public final class WriteWeights {
    private WriteWeights() {
    }

    public static void main(String[] args) throws Exception {
        Graph g = Graph.of(MobileNetV3Config.named(args[0]));
        RandomWeights.generate(g, 1).save(Path.of(args[1]), Map.of("seed", "1", "model", args[0]));
    }
}
