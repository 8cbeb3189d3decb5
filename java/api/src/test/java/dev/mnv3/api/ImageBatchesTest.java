package dev.mnv3.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.image.PreprocessingStage;
import java.lang.reflect.Proxy;
import java.util.List;
import org.junit.jupiter.api.Test;

class ImageBatchesTest {
    /** The form follows what the model says it can do, not its backend's name. */
    @Test
    void wholeImagesGoOnlyToAModelThatPreprocessesOnItsDevice() {
        assertEquals(PreprocessingStage.Form.PREPROCESSED, ImageBatches.formFor(model("cuda", false)));
        assertEquals(PreprocessingStage.Form.RAW_WHEN_SAME_SIZE, ImageBatches.formFor(model("fake", true)));
    }

    @Test
    void aBatchWhereNothingDecodedRunsNothing() {
        assertNull(ImageBatches.run(new PreprocessingStage.Batch(0, List.of(), null, Preprocessing.imagenet()), model("fake", false)));
    }

    /** A model called {@code name} that can or cannot preprocess on its device; nothing else of it is called. */
    private static CompiledModel model(String name, boolean device) {
        return (CompiledModel) Proxy.newProxyInstance(ImageBatchesTest.class.getClassLoader(), new Class<?>[] {CompiledModel.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "backend" -> name;
                    case "devicePreprocessing" -> device;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }
}
