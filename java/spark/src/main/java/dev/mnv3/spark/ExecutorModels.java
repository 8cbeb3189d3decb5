package dev.mnv3.spark;

import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.Checkpoint;
import dev.mnv3.core.weights.Weights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The compiled models of this JVM (an executor's, or the driver's in local mode): one per
 * {@link InferenceSpec.ModelKey}, compiled by the first task that needs it and shared by every
 * later task and job (the backends' models are safe to call from several threads), closed when
 * the JVM exits.
 */
final class ExecutorModels {
    private static final Map<InferenceSpec.ModelKey, CompiledModel> MODELS = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeAll, "mnv3-models-close"));
    }

    private ExecutorModels() {
    }

    /** The model for {@code spec} on {@code device}, compiling it from the weights broadcast to this executor on first use. */
    static CompiledModel get(InferenceSpec spec, int device) {
        return MODELS.computeIfAbsent(spec.modelKey(device), key -> compile(spec, key));
    }

    private static CompiledModel compile(InferenceSpec spec, InferenceSpec.ModelKey key) {
        try {
            // Checkpoint reads a file: the broadcast bytes go to a temporary one of the same name (for its messages),
            // gone once the model holds its weights
            Path dir = Files.createTempDirectory("mnv3-weights-");
            Path weights = dir.resolve(spec.weightsName());
            try {
                Files.write(weights, spec.weights().value());
                Graph graph = Graph.of(key.config()); // the driver's config, already in the checkpoint's layout
                Weights w;
                try (Checkpoint checkpoint = Checkpoint.open(weights, spec.checkpointKey())) {
                    w = checkpoint.weightsFor(graph);
                }
                return Backends.named(key.backend()).compile(graph, w, key.options());
            } finally {
                Files.deleteIfExists(weights);
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The SHA-256 of some bytes, in hex: what keys a model to its weights. */
    static String digest(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
    }

    /** How many models this JVM holds (tests: one per key, however many tasks ran). */
    static int size() {
        return MODELS.size();
    }

    private static void closeAll() {
        for (CompiledModel m : MODELS.values()) {
            try {
                m.close();
            } catch (RuntimeException e) {
                // the JVM is exiting: a model that fails to close has nothing left to release
            }
        }
        MODELS.clear();
    }
}
