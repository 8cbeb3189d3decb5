package dev.mnv3.spark;

import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.Checkpoint;
import dev.mnv3.core.weights.Weights;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkFiles;

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

    /** The model for {@code spec} on {@code device}, compiling it from the weights shipped to this executor on first use. */
    static CompiledModel get(InferenceSpec spec, int device) {
        return MODELS.computeIfAbsent(spec.modelKey(device), key -> compile(spec, key));
    }

    private static CompiledModel compile(InferenceSpec spec, InferenceSpec.ModelKey key) {
        Path weights = Path.of(SparkFiles.get(spec.weightsFile()));
        try {
            String digest = digest(weights);
            if (!digest.equals(spec.weightsDigest())) {
                throw new IllegalStateException("the weights " + spec.weightsFile() + " on this executor (sha-256 " + digest
                        + ") are not the driver's (" + spec.weightsDigest() + "): was the file changed while the job ran?");
            }
            Graph graph = Graph.of(key.config()); // the driver's config, already in the checkpoint's layout
            Weights w;
            try (Checkpoint checkpoint = Checkpoint.open(weights, spec.checkpointKey())) {
                w = checkpoint.weightsFor(graph);
            }
            return Backends.named(key.backend()).compile(graph, w, key.options());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The SHA-256 of a file, in hex: what keys a model to its weights. */
    static String digest(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) sha.update(buffer, 0, n);
            return HexFormat.of().formatHex(sha.digest());
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
