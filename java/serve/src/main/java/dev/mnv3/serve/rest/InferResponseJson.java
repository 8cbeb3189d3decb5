package dev.mnv3.serve.rest;

import dev.mnv3.serve.InferResponse;
import dev.mnv3.serve.RawTensors;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The REST body of an inference response, KServe v2 JSON: outputs asked for as binary (Triton's
 * binary tensor data extension) go after the JSON in order, each with its
 * {@code parameters.binary_data_size}, the rest inline as {@code data}. JSON has no NaN or
 * infinity: such a value of a number tensor is {@code null} there (binary data carry it as it is).
 * Also KServe's error body.
 */
public final class InferResponseJson {
    private InferResponseJson() {
    }

    /** An encoded response: the JSON, then the binary tensors in order (none when every output is JSON). */
    public record Encoded(byte[] json, List<byte[]> binary) {
        public boolean hasBinary() {
            return !binary.isEmpty();
        }
    }

    /** The response: outputs marked binary go after the JSON, the rest inline as {@code data}. */
    public static Encoded write(InferResponse r) {
        List<byte[]> binary = new ArrayList<>();
        byte[] json = RestJson.write(256, g -> {
            g.writeStartObject();
            g.writeStringField("model_name", r.modelName());
            g.writeStringField("model_version", r.modelVersion());
            if (!r.id().isEmpty()) g.writeStringField("id", r.id());
            g.writeArrayFieldStart("outputs");
            for (InferResponse.Output o : r.outputs()) {
                g.writeStartObject();
                g.writeStringField("name", o.name());
                g.writeStringField("datatype", o.datatype());
                g.writeArrayFieldStart("shape");
                for (long d : o.shape()) g.writeNumber(d);
                g.writeEndArray();
                if (o.binary()) {
                    byte[] raw = RawTensors.encode(o);
                    binary.add(raw);
                    g.writeObjectFieldStart("parameters");
                    g.writeNumberField("binary_data_size", raw.length);
                    g.writeEndObject();
                } else {
                    g.writeArrayFieldStart("data");
                    if (o.floats() != null) {
                        for (float v : o.floats()) {
                            if (Float.isFinite(v)) g.writeNumber(v);
                            else g.writeNull();
                        }
                    } else {
                        for (byte[] s : o.strings()) g.writeString(new String(s, StandardCharsets.UTF_8));
                    }
                    g.writeEndArray();
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
        return new Encoded(json, binary);
    }

    /** KServe's error body. */
    public static byte[] error(String message) {
        return RestJson.write(64 + message.length(), g -> {
            g.writeStartObject();
            g.writeStringField("error", message);
            g.writeEndObject();
        });
    }
}
