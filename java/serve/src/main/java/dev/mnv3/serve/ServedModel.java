package dev.mnv3.serve;

import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import java.util.ArrayList;
import java.util.List;

/**
 * The model as clients see it: its name, one version ("1"), its inputs and its outputs.
 *
 * <ul>
 * <li>{@value #INPUT}: FP32 (or FP16) [N, 3, H, W], normalized as torchvision's transforms leave it;
 * <li>{@value #IMAGE}: BYTES [N] or [N, 1], each element an encoded JPEG, PNG, WebP, BMP or GIF, decoded
 *     and preprocessed on the server ({@link #preprocessing()}) as {@code mnv3 classify} does.
 * </ul>
 * A request gives exactly one of the two. Outputs: {@value #LOGITS} [N, classes] (the default),
 * and the feature maps at strides 2 to 32 as {@code strideS} [N, C, H/S, W/S] when asked for.
 *
 * @param name            the name clients address it by
 * @param graph           the network
 * @param preprocessing   how {@value #IMAGE} inputs become tensors
 * @param backend         the backend that runs it (cpu, cuda), for metadata and configuration
 * @param nonFiniteInputs whether {@value #INPUT} may hold NaN and infinities (by default refused,
 *                        naming the first, since they make every output NaN)
 */
public record ServedModel(String name, Graph graph, Preprocessing preprocessing, String backend, boolean nonFiniteInputs) {
    public static final String VERSION = "1";
    public static final String INPUT = "input";
    public static final String IMAGE = "image";
    public static final String LOGITS = "logits";
    /** The platform, as KServe names them: {@code <project>_<format>} (the weights are a safetensors file). */
    public static final String PLATFORM = "mnv3_safetensors";
    /** The backend, as Triton's model configuration names the framework that runs a model. */
    public static final String BACKEND = "mnv3";

    public ServedModel {
        if (!isValidName(name)) {
            throw new IllegalArgumentException("model name must be 1 to 128 letters, digits, '_', '.' or '-', got '" + name + "'");
        }
    }

    /** Finite inputs only. */
    public ServedModel(String name, Graph graph, Preprocessing preprocessing, String backend) {
        this(name, graph, preprocessing, backend, false);
    }

    /** Whether {@code name} can name a model: it appears in URL paths, so letters, digits, '_', '.' and '-' only. */
    public static boolean isValidName(String name) {
        return name != null && name.matches("[A-Za-z0-9_.-]{1,128}");
    }

    /** A tensor in metadata: -1 marks a dimension of any size (the batch, and H and W for tensor inputs). */
    public record TensorSpec(String name, String datatype, long[] shape) {
    }

    public List<TensorSpec> inputs() {
        return List.of(new TensorSpec(INPUT, "FP32", new long[] {-1, Graph.INPUT_CHANNELS, -1, -1}),
                new TensorSpec(IMAGE, "BYTES", new long[] {-1, 1}));
    }

    public List<TensorSpec> outputs() {
        List<TensorSpec> out = new ArrayList<>();
        out.add(new TensorSpec(LOGITS, "FP32", new long[] {-1, graph.numClasses()}));
        for (FeatureLevel l : graph.featureLevels()) out.add(new TensorSpec(featureName(l), "FP32", new long[] {-1, l.channels(), -1, -1}));
        return out;
    }

    public static String featureName(FeatureLevel level) {
        return "stride" + level.stride();
    }

    /** The feature level an output name stands for, or -1 when it is not one. */
    public int featureIndex(String output) {
        List<FeatureLevel> levels = graph.featureLevels();
        for (int i = 0; i < levels.size(); i++) if (featureName(levels.get(i)).equals(output)) return i;
        return -1;
    }

    public List<String> outputNames() {
        return outputs().stream().map(TensorSpec::name).toList();
    }
}
