package dev.mnv3.spark;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.image.Preprocessing;
import java.io.Serializable;
import org.apache.spark.broadcast.Broadcast;

/**
 * Everything an executor needs to run a job's images: shipped with each task (small: the weights'
 * bytes are a broadcast, fetched once per executor by its first task that compiles the model; a
 * broadcast belongs to the SparkContext, not to a session, so it reaches executors on any master
 * whatever Spark's per-session artifact isolation does to files).
 *
 * @param weightsName   the weights' file name, for messages and to keep the file's extension
 * @param weights       the weights' bytes
 * @param weightsDigest their SHA-256: the model's key
 * @param checkpointKey the entry of a training checkpoint holding the tensors, or null to find it
 * @param backend       the backend's name ("cpu", "cuda", ...)
 * @param batch         images per model run
 * @param decodeThreads threads decoding one task's images (the next batch decodes while the model runs this one)
 */
record InferenceSpec(MobileNetV3Config config, String weightsName, Broadcast<byte[]> weights, String checkpointKey, String weightsDigest, String backend, CompileOptions options,
                     Preprocessing preprocessing, int batch, int decodeThreads, ResultColumns columns) implements Serializable {

    /** Which model an executor compiles: one per key and JVM, shared by its tasks. */
    record ModelKey(String weightsDigest, MobileNetV3Config config, String backend, CompileOptions options) {
    }

    ModelKey modelKey(int device) {
        return new ModelKey(weightsDigest, config, backend, options.withCuda(options.cuda().withDevice(device)));
    }
}
