package dev.mnv3.cli;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.weights.Checkpoint;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options that choose a network ({@code --model}, {@code --width}, {@code --classes}, ...), shared by every command:
 * a picocli mixin ({@code @Mixin ModelOptions model;}) for commands of other modules too (see {@link Subcommand}).
 */
public final class ModelOptions {
    @Option(names = "--model", paramLabel = "large|small|FILE.json", defaultValue = "large",
            description = "torchvision's Large or Small table, or a JSON table file (your own bottleneck table, SE layer, weight names; e.g. models/seed-large.json) (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--width", paramLabel = "W", defaultValue = "1.0",
            description = "Width multiplier applied to every channel count (default: ${DEFAULT-VALUE}).")
    double width;

    @Option(names = "--classes", paramLabel = "K", defaultValue = "1000",
            description = "Number of classes, at most " + MobileNetV3Config.MAX_CLASSES + " (default: ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--reduced-tail", description = "Halve the channels of the last stage (torchvision's reduced_tail).")
    boolean reducedTail;

    @Option(names = "--dilated", description = "Run the last stage dilated at stride 1 (output stride 16).")
    boolean dilated;

    @Option(names = "--minimalistic", description = "3x3 kernels, ReLU only, no squeeze-excitation (Keras/timm minimal).")
    boolean minimalistic;

    @Option(names = "--bn-eps", paramLabel = "EPS",
            description = "BatchNorm epsilon (default: the table's bn_eps, else the weights' layout: 1e-3 torchvision, 1e-5 timm and sequential).")
    Double bnEps;

    /** The table file --model names, or null for a built-in table. */
    Path file() {
        return MobileNetV3Config.isBuiltIn(model) ? null : Path.of(model);
    }

    /** The network the options describe. */
    public MobileNetV3Config config() throws IOException {
        MobileNetV3Config c = MobileNetV3Config.named(model).withWidth(width).withClasses(classes).withReducedTail(reducedTail)
                .withDilated(dilated).withMinimalistic(minimalistic);
        return bnEps != null ? c.withBnEps(bnEps) : c;
    }

    /** The config for a checkpoint: in the layout the table declares, or else the file's (whose eps it takes unless one was chosen). */
    public MobileNetV3Config configFor(Checkpoint checkpoint) throws IOException {
        return checkpoint.configFor(config());
    }
}
