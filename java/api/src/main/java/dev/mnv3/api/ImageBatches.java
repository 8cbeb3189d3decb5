package dev.mnv3.api;

import dev.mnv3.core.Arguments;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.image.PreprocessingStage;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.Tensor;

/**
 * Runs the batches of core's {@link PreprocessingStage} on a compiled model: the one place where
 * decoded images meet a backend (core's image pipeline knows no model). {@link ImageClassifier},
 * {@code mnv3 classify} and the Spark job batch through it.
 */
public final class ImageBatches {
    private ImageBatches() {
    }

    /** Whole images for a model that preprocesses them on its device ({@link CompiledModel#devicePreprocessing}), float crops for any other. */
    public static PreprocessingStage.Form formFor(CompiledModel model) {
        return model.devicePreprocessing() ? PreprocessingStage.Form.RAW_WHEN_SAME_SIZE : PreprocessingStage.Form.PREPROCESSED;
    }

    /** The model's logits [decoded images, classes] for {@code batch} (null when no image decoded). */
    public static Tensor run(PreprocessingStage.Batch batch, CompiledModel model) {
        Arguments.notNull(batch, "batch", "a PreprocessingStage.Batch");
        Arguments.notNull(model, "model", "a CompiledModel");
        Tensor input = batch.input();
        if (input == null) return null;
        return input.dtype() == DType.U8 ? model.runImages(input, batch.preprocessing()) : model.run(input);
    }
}
