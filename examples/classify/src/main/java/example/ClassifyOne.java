package example;

import dev.mnv3.api.Classification;
import dev.mnv3.api.ImageClassifier;
import java.nio.file.Path;

/**
 * mnv3 as a library: one image classified by a MobileNetV3 checkpoint (Large or Small, safetensors
 * or a torch.save'd .pth) on the fastest backend here. Usage: ClassifyOne IMAGE WEIGHTS
 */
public final class ClassifyOne {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: ClassifyOne IMAGE WEIGHTS.safetensors|WEIGHTS.pth");
            System.exit(2);
        }
        try (ImageClassifier classifier = ImageClassifier.open(Path.of(args[1]))) {
            var result = classifier.classify(Path.of(args[0]));
            Classification best = result.best();
            System.out.printf("%s on %s: class %d (%s)%n", args[0], classifier.backend(), best.index(), best.label());
            for (Classification c : result.topK(5)) System.out.printf("  %6.2f%%  %s%n", 100 * c.probability(), c.label());
        }
    }
}
