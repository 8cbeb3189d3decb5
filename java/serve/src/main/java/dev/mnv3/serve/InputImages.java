package dev.mnv3.serve;

import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import java.util.List;

/**
 * A request's input for the batcher: {@code count} images of {@code height} x {@code width}, their
 * CHW floats one after another across {@code parts} (one array for a tensor input, one per image
 * for decoded images). The batcher copies the parts once, into the batch; a lone request whose
 * one part is the whole batch runs on it as it is.
 */
public record InputImages(int count, int height, int width, List<float[]> parts) {
    public InputImages {
        parts = List.copyOf(parts);
        long floats = 0;
        for (float[] p : parts) floats += p.length;
        if (count < 1 || floats != (long) count * Graph.INPUT_CHANNELS * height * width) {
            throw new IllegalArgumentException(count + " images of " + height + "x" + width + " cannot be " + floats + " floats");
        }
    }

    /** A tensor [N, 3, H, W] as one part. */
    public static InputImages of(Tensor t) {
        return new InputImages(t.dim(0), t.dim(2), t.dim(3), List.of(t.data()));
    }

    /** The floats of one image. */
    public int imageFloats() {
        return Graph.INPUT_CHANNELS * height * width;
    }

    /** The images as one tensor when they are one part already, else null. */
    Tensor whole() {
        return parts.size() == 1 ? new Tensor(new int[] {count, Graph.INPUT_CHANNELS, height, width}, parts.getFirst()) : null;
    }
}
