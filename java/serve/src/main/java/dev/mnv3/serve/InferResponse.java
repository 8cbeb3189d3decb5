package dev.mnv3.serve;

import java.util.List;

/** The result of a request, protocol-neutral: REST and gRPC encode it in their own ways. */
public record InferResponse(String modelName, String modelVersion, String id, List<Output> outputs) {
    public InferResponse {
        outputs = List.copyOf(outputs);
    }

    /**
     * An output tensor: FP32 carries {@code floats}, BYTES (classification) carries
     * {@code strings}; {@code binary} says whether REST sends it as binary tensor data.
     */
    public record Output(String name, String datatype, long[] shape, float[] floats, List<byte[]> strings, boolean binary) {
    }
}
