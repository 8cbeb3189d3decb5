package dev.mnv3.api;

import dev.mnv3.core.Arguments;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.image.PreprocessingStage;
import java.util.List;

/**
 * How an {@link ImageClassifier} runs: start from {@link #defaults()} and change what differs.
 *
 * <pre>{@code
 * ClassifierOptions options = ClassifierOptions.defaults().withBackend("cpu").withThreads(4);
 * }</pre>
 *
 * @param backend       the backend's name ("cpu", "cuda", "cpu-reference"), or null for the fastest that runs here
 * @param precision     the arithmetic (FP32 strict by default; the GPU also runs TF32, FP16 and BF16)
 * @param threads       CPU threads running the model; 0 (the default) for every available processor
 * @param labels        one name per class, or null: ImageNet's for a 1000-class model, else "class N"
 * @param model         the network, or null (the default) for MobileNetV3 Large or Small, whichever the checkpoint holds
 * @param preprocessing resize and center crop (default: 256 then 224, torchvision's evaluation transform)
 * @param batchSize     images per model run in {@link ImageClassifier#classify(List)} (default 8)
 * @param decodeThreads threads decoding and preprocessing images; 0 (the default) for every available processor
 * @param checkpointKey the entry of a PyTorch training checkpoint that holds the tensors, or null to look under the usual ones
 */
public record ClassifierOptions(String backend, Precision precision, int threads, List<String> labels, MobileNetV3Config model,
                                Preprocessing preprocessing, int batchSize, int decodeThreads, String checkpointKey) {
    public ClassifierOptions {
        if (precision == null) precision = Precision.FP32;
        if (threads < 0 || threads > CompileOptions.MAX_THREADS) {
            throw new IllegalArgumentException("threads must be from 0 (all available processors) to " + CompileOptions.MAX_THREADS
                    + ", got " + threads);
        }
        if (labels != null) {
            Arguments.noNulls(labels, "labels", "a class name");
            labels = List.copyOf(labels);
            if (labels.isEmpty()) throw new IllegalArgumentException("labels must name at least one class (null: the defaults)");
        }
        if (preprocessing == null) preprocessing = Preprocessing.imagenet();
        if (batchSize < 1) throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        if (decodeThreads < 0 || decodeThreads > PreprocessingStage.MAX_THREADS) {
            throw new IllegalArgumentException("decodeThreads must be from 0 (all available processors) to "
                    + PreprocessingStage.MAX_THREADS + ", got " + decodeThreads);
        }
    }

    /** The fastest backend here, FP32, every processor, ImageNet's preprocessing, batches of 8. */
    public static ClassifierOptions defaults() {
        return new ClassifierOptions(null, Precision.FP32, 0, null, null, null, 8, 0, null);
    }

    public ClassifierOptions withBackend(String name) {
        return new ClassifierOptions(name, precision, threads, labels, model, preprocessing, batchSize, decodeThreads, checkpointKey);
    }

    public ClassifierOptions withPrecision(Precision p) {
        return new ClassifierOptions(backend, p, threads, labels, model, preprocessing, batchSize, decodeThreads, checkpointKey);
    }

    public ClassifierOptions withThreads(int t) {
        return new ClassifierOptions(backend, precision, t, labels, model, preprocessing, batchSize, decodeThreads, checkpointKey);
    }

    public ClassifierOptions withLabels(List<String> names) {
        return new ClassifierOptions(backend, precision, threads, names, model, preprocessing, batchSize, decodeThreads, checkpointKey);
    }

    public ClassifierOptions withModel(MobileNetV3Config config) {
        return new ClassifierOptions(backend, precision, threads, labels, config, preprocessing, batchSize, decodeThreads, checkpointKey);
    }

    public ClassifierOptions withPreprocessing(Preprocessing p) {
        return new ClassifierOptions(backend, precision, threads, labels, model, p, batchSize, decodeThreads, checkpointKey);
    }

    public ClassifierOptions withBatchSize(int n) {
        return new ClassifierOptions(backend, precision, threads, labels, model, preprocessing, n, decodeThreads, checkpointKey);
    }

    public ClassifierOptions withDecodeThreads(int n) {
        return new ClassifierOptions(backend, precision, threads, labels, model, preprocessing, batchSize, n, checkpointKey);
    }

    public ClassifierOptions withCheckpointKey(String key) {
        return new ClassifierOptions(backend, precision, threads, labels, model, preprocessing, batchSize, decodeThreads, key);
    }

    /** What the backend compiles the model with. */
    CompileOptions compileOptions() {
        return new CompileOptions(threads, precision);
    }
}
