package dev.mnv3.core.backend;

import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A graph with its weights prepared for one backend. Close it to free what the backend holds.
 * Implementations are safe to call from several threads at once.
 */
public interface CompiledModel extends AutoCloseable {
    Graph graph();

    /** Name of the backend that compiled it. */
    String backend();

    /** Logits [N, classes] (F32) for an input batch [N, 3, H, W] of F32, F16 or BF16. */
    Tensor run(Tensor input);

    /** Logits [N, classes] in {@code output} (F32, F16 or BF16, rounded to nearest even). */
    default Tensor run(Tensor input, DType output) {
        return run(input).to(output);
    }

    /**
     * Logits for a batch of raw images [N, H, W, 3], U8 RGB, all of one size, preprocessed as
     * {@code preprocessing} says (resize, center crop, normalize: torchvision's transform). Here on
     * the host; the CUDA backend does it on the device, where the upload is a quarter of the float
     * input's.
     */
    default Tensor runImages(Tensor images, Preprocessing preprocessing) {
        return run(preprocessing.apply(images));
    }

    /**
     * {@link #run} on another thread: a caller can keep several batches in flight (on the CUDA
     * backend they run on separate streams, so one batch's copies overlap another's kernels).
     */
    default CompletableFuture<Tensor> runAsync(Tensor input) {
        return CompletableFuture.supplyAsync(() -> run(input), AsyncRuns.EXECUTOR);
    }

    /**
     * The network input as float32, after checking its shape against {@code graph} and its type:
     * F32 as it is, F16 and BF16 widened exactly; U8 is refused (raw images go to {@link #runImages}).
     */
    static Tensor floatInput(Graph graph, Tensor input) {
        graph.checkInput(input.shape());
        if (input.dtype() == DType.U8) {
            throw new IllegalArgumentException("a U8 tensor " + input.shapeString() + " is not a network input: raw images "
                    + "[N, H, W, 3] go to runImages(images, preprocessing)");
        }
        return input.toFloat();
    }

    /**
     * Every node's output by node name, in graph order (for node-by-node comparison between
     * backends). Feature maps are [N, C, H, W], {@code avgpool} [N, C, 1, 1], linear layers [N, K].
     */
    Map<String, Tensor> trace(Tensor input);

    /** The feature maps at strides 2/4/8/16/32 ({@link Graph#featureLevels()}), as a detection backbone takes them. */
    default List<Tensor> features(Tensor input) {
        Map<String, Tensor> t = trace(input);
        List<Tensor> out = new ArrayList<>();
        for (FeatureLevel l : graph().featureLevels()) out.add(t.get(l.node()));
        return out;
    }

    @Override
    void close();
}
