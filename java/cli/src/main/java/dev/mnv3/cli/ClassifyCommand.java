package dev.mnv3.cli;

import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.ImageDecodeException;
import dev.mnv3.core.image.ImageDecoder;
import dev.mnv3.core.image.ImageNetClasses;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.Preprocessing;
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
        "Decodes each image (colours as PIL converts them), resizes its shorter side, center-crops, normalizes with the",
        "ImageNet mean and std, and runs them --batch at a time: only one batch of crops is held, never every image.",
        "A damaged file (corrupt or truncated JPEG, PNG failing its CRC) is an error naming it, unless --lenient."})
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

    @Option(names = "--batch", paramLabel = "N", defaultValue = "8", description = "Images per run (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lenient", description = "Classify damaged images as far as they decode, with a warning, and skip "
            + "files that do not decode at all, instead of stopping with an error.")
    boolean lenient;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "JPEG, PNG, BMP or GIF files.")
    List<Path> images;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || batch > 1024) throw new Main.UserError("--batch must be from 1 to 1024, got " + batch);
        if (top < 1) throw new Main.UserError("--top must be >= 1, got " + top);
        Preprocessing prep;
        try {
            prep = new Preprocessing(resize, crop);
        } catch (IllegalArgumentException e) {
            throw new Main.UserError("--resize and --crop: " + e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Graph graph = Graph.of(model.configFor(weights));
        graph.checkInput(new int[] {Math.min(batch, images.size()), Graph.INPUT_CHANNELS, crop, crop});
        Weights w = Weights.load(weights, graph);
        NonFiniteValues nonFinite = new NonFiniteValues();
        nonFinite.check(err, weights + " holds", w.asMap());
        int k = graph.numClasses();
        try (CompiledModel m = backend.resolve().compile(graph, w, backend.options())) {
            for (int from = 0; from < images.size(); from += batch) {
                List<Path> chunk = images.subList(from, Math.min(images.size(), from + batch));
                List<Path> decoded = new ArrayList<>();
                Tensor crops = Tensor.zeros(chunk.size(), 3, crop, crop);
                for (Path p : chunk) {
                    if (preprocess(p, prep, crops.data(), decoded.size() * 3 * crop * crop, err)) decoded.add(p);
                }
                if (decoded.isEmpty()) continue;
                Tensor logits = m.run(decoded.size() == chunk.size() ? crops : crops.slice(0, decoded.size()));
                nonFinite.check(err, "the logits hold", java.util.Map.of("logits", logits));
                for (int i = 0; i < decoded.size(); i++) {
                    float[] p = softmax(logits.data(), i * k, k);
                    out.println(decoded.get(i) + ":");
                    IntStream.range(0, k).boxed().sorted(Comparator.comparingDouble(c -> -p[c])).limit(top)
                            .forEach(c -> out.printf("  %6.2f%%  %4d  %s%n", 100 * p[c], c, ImageNetClasses.name(c, k)));
                }
                out.flush();
            }
        }
        return 0;
    }

    /** Decodes one image into the batch; false when --lenient skips a file that does not decode. */
    private boolean preprocess(Path p, Preprocessing prep, float[] dst, int offset, PrintWriter err) throws IOException {
        List<String> damage;
        try {
            damage = decode(p, prep, dst, offset);
        } catch (ImageDecodeException e) {
            if (!lenient) throw e;
            Main.warn(err, e.getMessage() + "; skipped (--lenient)");
            return false;
        }
        if (damage.isEmpty()) return true;
        String what = p + " is damaged: " + String.join("; ", damage);
        if (!lenient) throw new Main.UserError(what + " (--lenient classifies what decodes)");
        Main.warn(err, what + "; classified as far as it decodes (--lenient)");
        return true;
    }

    /** Decodes an image file; the decoder lives in its own class so that runtimes without java.desktop can run the rest. */
    static List<String> decode(Path p, Preprocessing prep, float[] dst, int offset) throws IOException {
        try {
            return ImageDecoder.preprocess(ImageSource.of(p), prep, dst, offset);
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
