package dev.mnv3.core.backend;

import dev.mnv3.core.Arguments;
import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.DeviceTensor;
import dev.mnv3.core.tensor.HostTensor;
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
        return run(input).to(checkOutputType(output));
    }

    /**
     * Logits for a batch of raw images [N, H, W, 3], U8 RGB, all of one size, preprocessed as
     * {@code preprocessing} says (resize, center crop, normalize: torchvision's transform). Here on
     * the host; the CUDA backend does it on the device, where the upload is a quarter of the float
     * input's.
     */
    default Tensor runImages(Tensor images, Preprocessing preprocessing) {
        return run(Arguments.notNull(preprocessing, "preprocessing", Preprocessing.WHAT).apply(images));
    }

    /**
     * Whether {@link #runImages(Tensor, Preprocessing)} resizes and crops on the device, so that a
     * caller should send whole U8 images rather than float crops (a quarter of the bytes); false
     * when it would only preprocess them on the host, as the caller's decode threads can.
     */
    default boolean devicePreprocessing() {
        return false;
    }

    /** How its kernels were chosen, for a report (e.g. "with cuDNN"); empty where the backend has no choice. */
    default String kernelChoice() {
        return "";
    }

    /**
     * False while the model runs stand-in code until its fastest kernels are compiled (the CPU
     * backend's {@link CpuSettings#warmStart()}); true once it runs what it was compiled for.
     */
    default boolean warmedUp() {
        return true;
    }

    /** Whether {@link #layerMillis} can say where the time goes. */
    default boolean timesLayers() {
        return false;
    }

    /**
     * Milliseconds spent in each layer, by node name, the least over {@code runs} runs of
     * {@code input}: where the time goes. Only where {@link #timesLayers()}.
     */
    default Map<String, Double> layerMillis(Tensor input, int runs) {
        throw new UnsupportedOperationException(backend() + " does not time its layers");
    }

    /**
     * {@link #run} on another thread: a caller can keep several batches in flight (on the CUDA
     * backend they run on separate streams, so one batch's copies overlap another's kernels).
     */
    default CompletableFuture<Tensor> runAsync(Tensor input) {
        return CompletableFuture.supplyAsync(() -> run(input), AsyncRuns.EXECUTOR);
    }

    /**
     * A host tensor for this model's inputs, to fill and pass to {@link #run}: pinned memory on the
     * CUDA backend (copied to the device by DMA, no staging copy), plain off-heap memory elsewhere.
     * The caller closes it.
     */
    default HostTensor allocateHost(DType type, int... shape) {
        return HostTensor.offHeap(type, shape);
    }

    /**
     * A tensor of {@code type} and {@code shape} in this model's device memory, for
     * {@link #run(DeviceTensor, DeviceTensor)}; the caller closes it. Backends without a device (the
     * CPU ones) refuse.
     */
    default DeviceTensor allocate(DType type, int... shape) {
        throw new UnsupportedOperationException(backend() + " keeps no tensors in device memory (the cuda backend does)");
    }

    /**
     * Logits into {@code logits} ([N, classes], F32, F16 or BF16) from {@code input} ([N, 3, H, W],
     * F32, F16 or BF16), both in this model's device memory: nothing crosses to the host.
     */
    default void run(DeviceTensor input, DeviceTensor logits) {
        throw new UnsupportedOperationException(backend() + " keeps no tensors in device memory (the cuda backend does)");
    }

    /** As {@link #runImages(Tensor, Preprocessing)}, from raw U8 images [N, H, W, 3] in device memory into {@code logits}. */
    default void runImages(DeviceTensor images, Preprocessing preprocessing, DeviceTensor logits) {
        throw new UnsupportedOperationException(backend() + " keeps no tensors in device memory (the cuda backend does)");
    }

    /**
     * The network input as float32, after checking its shape against {@code graph} and its type:
     * F32 as it is, F16 and BF16 widened exactly; U8 is refused (raw images go to {@link #runImages}).
     */
    static Tensor floatInput(Graph graph, Tensor input) {
        return checkInput(graph, input).toFloat();
    }

    /** {@code input} after checking it is a network input of {@code graph}: not null, F32, F16 or BF16, [N, 3, H, W]. */
    static Tensor checkInput(Graph graph, Tensor input) {
        Arguments.notNull(input, "input", "an F32, F16 or BF16 tensor [N,3,H,W]");
        checkInputType(graph, input.shape(), input.dtype());
        return input;
    }

    /**
     * Checks a network input's type (F32, F16 or BF16) and then its shape against {@code graph}:
     * the type first, since raw images [N, H, W, 3] would otherwise be read as H channels.
     */
    static void checkInputType(Graph graph, int[] shape, DType type) {
        if (!type.isFloat()) {
            throw new IllegalArgumentException("input is " + type + " " + Tensor.shapeString(shape)
                    + ", expected F32, F16 or BF16 [N,3,H,W]"
                    + (type == DType.U8 ? ": raw images [N,H,W,3] go to runImages(images, preprocessing)" : ""));
        }
        graph.checkInput(shape);
    }

    /** Checks the type asked of logits: F32, F16 or BF16. */
    static DType checkOutputType(DType type) {
        if (type == null || !type.isFloat()) {
            throw new IllegalArgumentException("output type " + type + " is not a logits type: expected F32, F16 or BF16");
        }
        return type;
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
