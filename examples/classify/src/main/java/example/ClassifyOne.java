package example;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.ImageDecoder;
import dev.mnv3.core.image.ImageNetClasses;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Checkpoint;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import java.nio.file.Path;
import java.util.List;

/**
 * mnv3 as a library: MobileNetV3-Small on the best backend here, one image classified.
 * Usage: ClassifyOne IMAGE [WEIGHTS] (safetensors or a torch.save'd .pth; without weights: random ones, so the
 * classes mean nothing).
 */
public final class ClassifyOne {
    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: ClassifyOne IMAGE [WEIGHTS.safetensors|WEIGHTS.pth]");
            System.exit(2);
        }
        Graph graph;
        Weights weights;
        if (args.length == 2) {
            // the checkpoint says how it was trained: its naming layout, and so its BatchNorm eps
            try (Checkpoint checkpoint = Checkpoint.open(Path.of(args[1]))) {
                graph = Graph.of(checkpoint.configFor(MobileNetV3Config.small()));
                weights = checkpoint.weightsFor(graph);
            }
        } else {
            graph = Graph.of(MobileNetV3Config.small());
            weights = RandomWeights.generate(graph, 42);
        }
        Preprocessing prep = Preprocessing.imagenet();
        Tensor batch = Tensor.zeros(1, 3, prep.crop(), prep.crop());
        List<String> damage = ImageDecoder.preprocess(ImageSource.of(Path.of(args[0])), prep, batch.data(), 0);
        if (!damage.isEmpty()) System.err.println("warning: " + args[0] + " is damaged: " + damage.getFirst());

        Backend backend = Backends.best();
        try (CompiledModel model = backend.compile(graph, weights)) {
            float[] logits = model.run(batch).data();
            int best = 0;
            for (int c = 1; c < logits.length; c++) if (logits[c] > logits[best]) best = c;
            System.out.printf("%s on %s: class %d (%s)%n", args[0], backend.name(), best,
                    ImageNetClasses.name(best, logits.length));
        }
    }
}
