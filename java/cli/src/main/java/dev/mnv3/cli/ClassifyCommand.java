package dev.mnv3.cli;

import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.ImageNetClasses;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.image.RgbImage;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Weights;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "classify", mixinStandardHelpOptions = true, description = {
        "Classify images and print the top classes with their probabilities.",
        "Decodes each image, resizes its shorter side, center-crops, normalizes with the ImageNet",
        "mean and std, and runs them as one batch."})
final class ClassifyCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    BackendOptions backend;

    @Option(names = "--weights", required = true, paramLabel = "W.safetensors", description = "Trained weights.")
    Path weights;

    @Option(names = "--resize", paramLabel = "S", defaultValue = "256",
            description = "Shorter side before the crop: 256 for torchvision's V1 weights, 232 for its V2 Large weights (default: ${DEFAULT-VALUE}).")
    int resize;

    @Option(names = "--crop", paramLabel = "C", defaultValue = "224", description = "Center crop size (default: ${DEFAULT-VALUE}).")
    int crop;

    @Option(names = "--top", paramLabel = "K", defaultValue = "5", description = "How many classes to print (default: ${DEFAULT-VALUE}).")
    int top;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "JPEG, PNG, BMP or GIF files.")
    List<Path> images;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        List<RgbImage> decoded = new ArrayList<>();
        for (Path p : images) decoded.add(decode(p));
        Graph graph = Graph.of(model.configFor(weights));
        Tensor batch = new Preprocessing(resize, crop).apply(decoded.toArray(RgbImage[]::new));
        Tensor logits;
        try (CompiledModel m = backend.resolve().compile(graph, Weights.load(weights, graph), backend.options())) {
            logits = m.run(batch);
        }
        int k = graph.numClasses();
        for (int i = 0; i < images.size(); i++) {
            float[] p = softmax(logits.data(), i * k, k);
            out.println(images.get(i) + ":");
            IntStream.range(0, k).boxed().sorted(Comparator.comparingDouble(c -> -p[c])).limit(Math.max(1, top))
                    .forEach(c -> out.printf("  %6.2f%%  %4d  %s%n", 100 * p[c], c, ImageNetClasses.name(c, k)));
        }
        return 0;
    }

    /** Decodes an image file; the decoder lives in its own class so that runtimes without java.desktop can run the rest. */
    static RgbImage decode(Path p) throws IOException {
        try {
            return ImageFiles.decode(p);
        } catch (LinkageError e) {
            throw new Main.UserError("this Java runtime has no java.desktop module, which decoding images needs");
        }
    }

    private static float[] softmax(float[] x, int from, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[from + i]);
        double sum = 0;
        float[] p = new float[n];
        for (int i = 0; i < n; i++) sum += p[i] = (float) Math.exp(x[from + i] - max);
        for (int i = 0; i < n; i++) p[i] /= (float) sum;
        return p;
    }
}
