package dev.mnv3.spark;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.image.Preprocessing;
import java.io.Serializable;

/**
 * Everything an executor needs to run a job's images: shipped with each task (small: no weights;
 * those travel once per executor as a Spark file named {@code weightsFile}, checked against
 * {@code weightsDigest}).
 *
 * @param checkpointKey the entry of a training checkpoint holding the tensors, or null to find it
 * @param backend       the backend's name ("cpu", "cuda", ...)
 * @param batch         images per model run
 * @param decodeThreads threads decoding one task's images (the next batch decodes while the model runs this one)
 */
record InferenceSpec(MobileNetV3Config config, String weightsFile, String checkpointKey, String weightsDigest, String backend, CompileOptions options,
                     Preprocessing preprocessing, int batch, int decodeThreads, ResultColumns columns) implements Serializable {

    /** Which model an executor compiles: one per key and JVM, shared by its tasks. */
    record ModelKey(String weightsDigest, MobileNetV3Config config, String backend, CompileOptions options) {
    }

    ModelKey modelKey(int device) {
        return new ModelKey(weightsDigest, config, backend, options.withDevice(device));
    }
}
