package dev.mnv3.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.Softmax;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.ImageDecodeException;
import dev.mnv3.core.image.ImageDecoder;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ImageClassifier on real images (core's test pictures) and Small's random weights, against the model run by hand. */
class ImageClassifierTest {
    static final Path PICTURES = Path.of("../core/src/test/resources/dev/mnv3/core/image/ImageDecoderFuzzTestInputs/decodesOrNamesTheFile");
    static final Path JPEG = PICTURES.resolve("rgb.jpg"), PNG = PICTURES.resolve("rgb.png"), PALETTE = PICTURES.resolve("palette.png");

    @TempDir
    static Path dir;
    static Path checkpoint;
    static Weights weights;
    static ImageClassifier classifier;

    @BeforeAll
    static void open() throws Exception {
        checkpoint = dir.resolve("small.safetensors");
        weights = RandomWeights.generate(Graph.of(MobileNetV3Config.small()), 3);
        weights.save(checkpoint, Map.of());
        classifier = ImageClassifier.open(checkpoint, ClassifierOptions.defaults().withBackend("cpu").withThreads(1).withBatchSize(2));
    }

    @AfterAll
    static void close() {
        classifier.close();
    }

    /** The probabilities of one image decoded, preprocessed and run by hand, as examples/classify did before the API. */
    static float[] byHand(Path image) throws Exception {
        Preprocessing prep = Preprocessing.imagenet();
        Tensor batch = Tensor.zeros(1, 3, prep.crop(), prep.crop());
        ImageDecoder.preprocess(ImageSource.of(image), prep, batch.data(), 0);
        Graph graph = Graph.of(MobileNetV3Config.small());
        try (CompiledModel m = Backends.named("cpu").compile(graph, weights, new CompileOptions(1, null))) {
            return Softmax.probabilities(m.run(batch).data(), 0, graph.numClasses());
        }
    }

    @Test
    void findsSmallAndClassifiesAsTheModelRunByHand() throws Exception {
        assertEquals("cpu", classifier.backend());
        assertEquals("tench", classifier.labels().getFirst());
        Classifications c = classifier.classify(JPEG);
        assertArrayEquals(byHand(JPEG), c.probabilities()); // the same crop through the same kernels: bit for bit
        assertEquals(JPEG.toString(), c.source());
        assertEquals(List.of(), c.warnings());
        Classification best = c.best();
        assertEquals(classifier.labels().get(best.index()), best.label());
    }

    @Test
    void bytesPathsAndBatchesAgree() throws Exception {
        List<Path> images = List.of(JPEG, PNG, PALETTE, JPEG, PNG); // three batches of 2, the last one short
        List<Classifications> all = classifier.classify(images);
        assertEquals(images.size(), all.size());
        for (int i = 0; i < images.size(); i++) {
            float[] one = classifier.classify(images.get(i)).probabilities();
            assertEquals(images.get(i).toString(), all.get(i).source());
            float[] batched = all.get(i).probabilities();
            for (int c = 0; c < one.length; c++) assertEquals(one[c], batched[c], 1e-6, images.get(i) + " class " + c);
        }
        assertArrayEquals(classifier.classify(PNG).probabilities(), classifier.classify(Files.readAllBytes(PNG)).probabilities());
    }

    @Test
    void callsFromSeveralThreadsGetTheirOwnAnswers() throws Exception {
        float[] jpeg = classifier.classify(JPEG).probabilities(), png = classifier.classify(PNG).probabilities();
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<float[]>> runs = new java.util.ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Path p = i % 2 == 0 ? JPEG : PNG;
                runs.add(pool.submit(() -> classifier.classify(p).probabilities()));
            }
            for (int i = 0; i < runs.size(); i++) assertArrayEquals(i % 2 == 0 ? jpeg : png, runs.get(i).get());
        }
    }

    @Test
    void badInputsAreNamed() throws Exception {
        Path notAnImage = Files.writeString(dir.resolve("notes.jpg"), "not an image");
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> classifier.classify(List.of(JPEG, notAnImage)));
        assertTrue(e.getMessage().contains("notes.jpg"), e.getMessage());
        IllegalArgumentException labels = assertThrows(IllegalArgumentException.class,
                () -> ImageClassifier.open(checkpoint, ClassifierOptions.defaults().withBackend("cpu").withModel(MobileNetV3Config.small())
                        .withLabels(List.of("cat", "dog"))));
        assertTrue(labels.getMessage().contains("labels name 2 classes"), labels.getMessage());
        IllegalArgumentException large = assertThrows(IllegalArgumentException.class,
                () -> ImageClassifier.open(checkpoint, ClassifierOptions.defaults().withModel(MobileNetV3Config.large())));
        assertTrue(large.getMessage().startsWith(checkpoint.getFileName() + " do not fit large"), large.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ClassifierOptions.defaults().withBatchSize(0));
        ImageClassifier closed = ImageClassifier.open(checkpoint, ClassifierOptions.defaults().withBackend("cpu").withThreads(1));
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.classify(JPEG));
    }

    /** Misuse is one line naming the argument and what it should have been, not a NullPointerException from inside. */
    @Test
    void misuseIsOneLineNamingTheArgument() {
        record Misuse(org.junit.jupiter.api.function.Executable call, String expected) {
        }
        for (Misuse m : List.of(
                new Misuse(() -> classifier.classify((Path) null), "image is null: expected the path of an image file"),
                new Misuse(() -> classifier.classify((byte[]) null), "encoded is null: expected the bytes of an encoded image"),
                new Misuse(() -> classifier.classify(java.util.Arrays.asList(JPEG, null)), "images[1] is null: expected the path of an image file"),
                new Misuse(() -> classifier.classify((List<Path>) null), "images is null"),
                new Misuse(() -> ImageClassifier.open(null), "checkpoint is null: expected the path of a safetensors or PyTorch checkpoint"),
                new Misuse(() -> ImageClassifier.open(checkpoint, null), "options is null: expected ClassifierOptions"),
                new Misuse(() -> ClassifierOptions.defaults().withLabels(java.util.Arrays.asList("cat", null)),
                        "labels[1] is null: expected a class name"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, m.call(), m.expected());
            assertTrue(e.getMessage().startsWith(m.expected()), e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        }
    }
}
