package dev.mnv3.serve;

import dev.mnv3.core.backend.Backends;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The served model as Triton's model configuration describes it, decided once for both
 * protocols (REST writes it as JSON, gRPC as Triton's ModelConfig message): dims without the batch
 * dimension (max_batch_size > 0 means requests carry it), both inputs optional (a request gives one
 * of them), the batcher's settings as dynamic_batching, the instances as one instance group, and
 * whether non-finite inputs are allowed as a parameter.
 */
public record ModelConfiguration(String name, String platform, String backend, int maxBatchSize, List<Tensor> inputs,
                                 List<Tensor> outputs, int[] preferredBatchSizes, long maxQueueDelayMicros, int maxQueueSize,
                                 String instanceKind, int instanceCount, Map<String, String> parameters) {
    /** A tensor as the configuration lists it: Triton's data type (TYPE_FP32, TYPE_STRING), its format, dims without the batch. */
    public record Tensor(String name, String dataType, String format, long[] dims) {
    }

    public static ModelConfiguration of(ServedModel m, BatchPolicy policy, int instances) {
        int[] preferred = policy.paddedSizes().length > 0 ? policy.paddedSizes() : new int[] {policy.maxBatchSize()};
        return new ModelConfiguration(m.name(), ServedModel.PLATFORM, ServedModel.BACKEND, policy.maxBatchSize(),
                m.inputs().stream().map(t -> tensor(t, t.name().equals(ServedModel.INPUT) ? "FORMAT_NCHW" : "FORMAT_NONE")).toList(),
                m.outputs().stream().map(t -> tensor(t, null)).toList(), preferred, policy.maxQueueDelayMicros(), policy.queueLimit(),
                instanceKind(m.backend()), instances,
                Map.of("allow_non_finite_inputs", Boolean.toString(m.nonFiniteInputs())));
    }

    /** Triton's instance kind: KIND_GPU where the backend's models live on a device, KIND_CPU elsewhere (or for a backend not found). */
    static String instanceKind(String backend) {
        return Backends.all().stream().anyMatch(b -> b.name().equals(backend) && b.usesDevices()) ? "KIND_GPU" : "KIND_CPU";
    }

    private static Tensor tensor(ServedModel.TensorSpec t, String format) {
        String type = t.datatype().equals("BYTES") ? "TYPE_STRING" : "TYPE_" + t.datatype().toUpperCase(Locale.ROOT);
        return new Tensor(t.name(), type, format, Arrays.copyOfRange(t.shape(), 1, t.shape().length));
    }

    /** Whether requests are batched: Triton lists dynamic_batching only then. */
    public boolean batching() {
        return maxBatchSize > 1;
    }
}
