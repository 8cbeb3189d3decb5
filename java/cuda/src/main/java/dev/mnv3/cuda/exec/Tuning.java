package dev.mnv3.cuda.exec;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import dev.mnv3.cuda.plan.KernelChoice;

/**
 * What was timed on this device, kept for the life of the process: the cuDNN algorithm of each
 * convolution shape and, for the convolutions both ours and cuDNN can run, which one was faster,
 * each with the line that says how it was decided ({@code mnv3 bench --show-kernels}). Every model
 * and lane of the process reuses a decision instead of timing the shape again; keys include the
 * batch, the shape and the precision ({@link ConvAlgorithm.Key}).
 */
public final class Tuning {
    public final Map<ConvAlgorithm.Key, ConvAlgorithm.Choice> algorithms = new ConcurrentHashMap<>();
    public final Map<ConvAlgorithm.Key, KernelChoice.Impl> kernels = new ConcurrentHashMap<>();
    /** How each decision above was made, by the same key (algorithm lines under {@link #algorithmNote}). */
    public final Map<Object, String> notes = new ConcurrentHashMap<>();

    /** The key of an algorithm decision's note, apart from the kernel decision of the same shape. */
    public static Object algorithmNote(ConvAlgorithm.Key key) {
        return java.util.List.of("algorithm", key);
    }
}
