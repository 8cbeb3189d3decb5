package dev.mnv3.cli;

import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import picocli.CommandLine.Option;

/** The input size option shared by the commands that build their own input. */
final class SizeOption {
    @Option(names = "--size", paramLabel = "HxW", defaultValue = "224x224", converter = Sizes.Converter.class,
            description = "Input height x width, or one number for a square (default: ${DEFAULT-VALUE}).")
    private Sizes value;

    /** A seeded random batch [batch, 3, H, W] for {@code graph}, after checking that both fit. */
    Tensor randomInput(Graph graph, int batch, long seed) {
        check(graph, batch);
        return RandomWeights.input(batch, height(), width(), seed);
    }

    /** Checks that a batch of {@code batch} images at this size fits {@code graph}, allocating nothing. */
    void check(Graph graph, int batch) {
        if (batch < 1) throw new Main.UserError("--batch must be >= 1, got " + batch);
        graph.checkInput(new int[] {batch, Graph.INPUT_CHANNELS, height(), width()});
    }

    int height() {
        return value.height();
    }

    int width() {
        return value.width();
    }

    @Override
    public String toString() {
        return value.toString();
    }
}
