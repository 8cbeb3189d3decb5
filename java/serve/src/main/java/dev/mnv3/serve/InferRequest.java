package dev.mnv3.serve;

import java.util.List;

/**
 * One inference request, decoded from REST JSON, REST binary tensor data or gRPC, before it is
 * checked against the model ({@link InferenceService} does that).
 *
 * @param id            echoed in the response; may be empty
 * @param inputs        the input tensors with their data decoded
 * @param outputs       the outputs asked for; empty means the model's default outputs
 * @param binaryOutputs REST: every output as binary tensor data unless it says otherwise
 *                      (Triton's request parameter {@code binary_data_output})
 */
public record InferRequest(String id, List<Input> inputs, List<RequestedOutput> outputs, boolean binaryOutputs) {
    public InferRequest {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    /**
     * An input tensor. Numeric datatypes carry {@code floats} (FP16 already widened), BYTES carries
     * {@code bytes}, one array per element; the other is null.
     */
    public record Input(String name, String datatype, long[] shape, float[] floats, List<byte[]> bytes) {
        public long elements() {
            return floats != null ? floats.length : bytes.size();
        }
    }

    /**
     * An output asked for.
     *
     * @param binary         REST: as binary tensor data (true), as JSON (false), or as the request
     *                       says (null); gRPC always answers in raw_output_contents
     * @param classification the top-k classes as Triton's classification extension returns them
     *                       ("score:index:label" strings); 0: the tensor itself
     */
    public record RequestedOutput(String name, Boolean binary, int classification) {
    }
}
