package dev.mnv3.api;

import dev.mnv3.core.Arguments;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.PreprocessingStage;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Checkpoint;
import dev.mnv3.core.weights.WeightMismatchException;
import dev.mnv3.core.weights.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * A MobileNetV3 checkpoint compiled for the best backend here, classifying images:
 *
 * <pre>{@code
 * try (ImageClassifier classifier = ImageClassifier.open(Path.of("models/small.safetensors"))) {
 *     List<Classification> top5 = classifier.classify(Path.of("cat.jpg")).topK(5);
 * }
 * }</pre>
 *
 * It decodes each image (JPEG, PNG, WebP, BMP, GIF; colours as PIL converts them), resizes,
 * center-crops and normalizes it as torchvision's evaluation transform does, on a pool of decode
 * threads, and runs the images through the model in batches. The results are those of
 * {@code mnv3 classify} for the same checkpoint and options.
 *
 * <p>Safe to call from several threads at once; close it when no call is running, to free the
 * model and the decode threads.
 */
public final class ImageClassifier implements AutoCloseable {
    private final CompiledModel model;
    private final PreprocessingStage stage;
    private final PreprocessingStage.Form form;
    private final List<String> labels;
    private final int batchSize;
    private volatile boolean closed;

    private ImageClassifier(CompiledModel model, ClassifierOptions options, List<String> labels) {
        this.model = model;
        this.labels = labels;
        this.batchSize = options.batchSize();
        this.stage = new PreprocessingStage(options.preprocessing(), options.decodeThreads());
        this.form = ImageBatches.formFor(model);
    }

    /** A classifier for {@code checkpoint} (safetensors or a PyTorch {@code torch.save} file) with the default options. */
    public static ImageClassifier open(Path checkpoint) throws IOException {
        return open(checkpoint, ClassifierOptions.defaults());
    }

    /**
     * A classifier for {@code checkpoint} (safetensors or a PyTorch {@code torch.save} file) as
     * {@code options} say.
     *
     * @throws IOException              when the checkpoint cannot be read
     * @throws IllegalArgumentException when its tensors fit no network of the options, or the labels do not fit the model
     * @throws dev.mnv3.core.backend.BackendUnavailableException when the backend cannot run here
     */
    public static ImageClassifier open(Path checkpoint, ClassifierOptions options) throws IOException {
        Arguments.notNull(checkpoint, "checkpoint", "the path of a safetensors or PyTorch checkpoint");
        Arguments.notNull(options, "options", "ClassifierOptions, e.g. ClassifierOptions.defaults()");
        Loaded loaded;
        try (Checkpoint c = Checkpoint.open(checkpoint, options.checkpointKey())) {
            loaded = load(c, options);
        }
        Graph graph = loaded.graph();
        List<String> labels = options.labels() != null ? options.labels() : Classifications.labelsFor(graph.numClasses());
        if (labels.size() != graph.numClasses()) {
            throw new IllegalArgumentException("labels name " + labels.size() + " classes, but " + checkpoint + " has "
                    + graph.numClasses());
        }
        graph.checkInput(new int[] {1, Graph.INPUT_CHANNELS, options.preprocessing().crop(), options.preprocessing().crop()});
        CompiledModel model = Backends.available(options.backend()).compile(graph, loaded.weights(), options.compileOptions());
        try {
            return new ImageClassifier(model, options, labels);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private record Loaded(Graph graph, Weights weights) {
    }

    /**
     * The graph {@code options} name, or else MobileNetV3 Large or Small, whichever the checkpoint's
     * tensors fit (with as many classes as the labels, else 1000), with its weights.
     */
    private static Loaded load(Checkpoint c, ClassifierOptions options) {
        if (options.model() != null) {
            Graph graph = Graph.of(c.configFor(options.model()));
            return new Loaded(graph, c.weightsFor(graph));
        }
        int classes = options.labels() != null ? options.labels().size() : 1000;
        WeightMismatchException first = null;
        for (MobileNetV3Config candidate : List.of(MobileNetV3Config.large(), MobileNetV3Config.small())) {
            Graph graph = Graph.of(c.configFor(candidate.withClasses(classes)));
            try {
                return new Loaded(graph, c.weightsFor(graph));
            } catch (WeightMismatchException e) {
                if (first == null) first = e;
            }
        }
        throw new IllegalArgumentException(c.path() + " holds neither MobileNetV3 Large nor Small with " + classes
                + " classes (for another network, set ClassifierOptions.model): " + first.getMessage(), first);
    }

    /**
     * The classes of one image file.
     *
     * @throws IOException when the file cannot be read or decoded (an {@link dev.mnv3.core.image.ImageDecodeException} naming it)
     */
    public Classifications classify(Path image) throws IOException {
        return classifySources(List.of(ImageSource.of(Arguments.notNull(image, "image", "the path of an image file")))).getFirst();
    }

    /** The classes of one encoded image in memory (JPEG, PNG, WebP, BMP or GIF bytes). */
    public Classifications classify(byte[] encoded) throws IOException {
        Arguments.notNull(encoded, "encoded", "the bytes of an encoded image");
        return classifySources(List.of(ImageSource.of("the image of " + encoded.length + " bytes", encoded))).getFirst();
    }

    /**
     * The classes of each image, in order: decoded on the decode threads, run in batches of
     * {@link ClassifierOptions#batchSize()}, the next batch decoding while the model runs this one.
     *
     * @throws IOException at the first image that cannot be read or decoded, naming it
     */
    public List<Classifications> classify(List<Path> images) throws IOException {
        Arguments.noNulls(images, "images", "the path of an image file");
        return classifySources(images.stream().map(ImageSource::of).toList());
    }

    private List<Classifications> classifySources(List<ImageSource> sources) throws IOException {
        if (closed) throw new IllegalStateException("this ImageClassifier is closed");
        List<Classifications> out = new ArrayList<>(sources.size());
        int k = labels.size();
        for (Iterator<PreprocessingStage.Batch> it = stage.batches(sources, batchSize, form); it.hasNext(); ) {
            PreprocessingStage.Batch b = it.next();
            for (PreprocessingStage.Outcome o : b.images()) {
                if (o.error() != null) throw rethrown(o.error());
            }
            Tensor logits = ImageBatches.run(b, model);
            for (PreprocessingStage.Outcome o : b.images()) {
                out.add(Classifications.ofLogits(o.source().name(), logits.data(), o.row() * k, labels, o.damage()));
            }
        }
        return out;
    }

    /** An image's failure as it was thrown: I/O errors (a file that does not decode) as such, unchecked ones as they are. */
    private static IOException rethrown(Throwable t) {
        return switch (t) {
            case IOException e -> e;
            case RuntimeException e -> throw e;
            case Error e -> throw e;
            default -> new IOException(t);
        };
    }

    /** The backend running the model ("cpu", "cuda", ...). */
    public String backend() {
        return model.backend();
    }

    /** One label per class of the model, by class index. */
    public List<String> labels() {
        return labels;
    }

    /** Frees the model and stops the decode threads. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try (stage) {
            model.close();
        }
    }
}
