package dev.mnv3.serve;

import dev.mnv3.core.image.Preprocessing;

/**
 * Turns one encoded image from an {@value ServedModel#IMAGE} input into the model's input: the
 * preprocessed crop, 3 x crop x crop floats (CHW). An image it cannot decode is a
 * {@link ServeError.Kind#BAD_REQUEST} naming the problem. Implementations are called from many
 * request threads at once.
 */
@FunctionalInterface
public interface RequestImageDecoder {
    float[] decode(byte[] encoded, Preprocessing preprocessing);
}
