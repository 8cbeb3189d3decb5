package dev.mnv3.serve.rest;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.mnv3.serve.BatchPolicy;
import dev.mnv3.serve.ModelStatistics;
import dev.mnv3.serve.ServedModel;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The REST documents other than inference: server and model metadata (KServe v2), and Triton's
 * model configuration and statistics extensions, which {@code perf_analyzer} and
 * {@code tritonclient} read.
 */
public final class RestDocuments {
    /** The protocol extensions this server implements, as server metadata lists them. */
    public static final List<String> EXTENSIONS = List.of("binary_tensor_data", "classification", "model_configuration", "statistics");

    private RestDocuments() {
    }

    private static byte[] json(RestJson.Document document) {
        return RestJson.write(512, document);
    }

    public static byte[] serverMetadata(String name, String version) {
        return json(g -> {
            g.writeStartObject();
            g.writeStringField("name", name);
            g.writeStringField("version", version);
            g.writeArrayFieldStart("extensions");
            for (String e : EXTENSIONS) g.writeString(e);
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    public static byte[] modelMetadata(ServedModel m) {
        return json(g -> {
            g.writeStartObject();
            g.writeStringField("name", m.name());
            g.writeArrayFieldStart("versions");
            g.writeString(ServedModel.VERSION);
            g.writeEndArray();
            g.writeStringField("platform", ServedModel.PLATFORM);
            tensors(g, "inputs", m.inputs());
            tensors(g, "outputs", m.outputs());
            g.writeEndObject();
        });
    }

    private static void tensors(JsonGenerator g, String field, List<ServedModel.TensorSpec> specs) throws IOException {
        g.writeArrayFieldStart(field);
        for (ServedModel.TensorSpec t : specs) {
            g.writeStartObject();
            g.writeStringField("name", t.name());
            g.writeStringField("datatype", t.datatype());
            g.writeArrayFieldStart("shape");
            for (long d : t.shape()) g.writeNumber(d);
            g.writeEndArray();
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    /**
     * Triton's model configuration: dims without the batch dimension (max_batch_size > 0 means
     * requests carry it), both inputs optional (a request gives one of them), and the batcher's
     * settings as dynamic_batching.
     */
    public static byte[] modelConfig(ServedModel m, BatchPolicy policy, int instances) {
        return json(g -> {
            g.writeStartObject();
            g.writeStringField("name", m.name());
            g.writeStringField("platform", ServedModel.PLATFORM);
            g.writeStringField("backend", ServedModel.PLATFORM);
            g.writeNumberField("max_batch_size", policy.maxBatchSize());
            g.writeArrayFieldStart("input");
            for (ServedModel.TensorSpec t : m.inputs()) {
                g.writeStartObject();
                g.writeStringField("name", t.name());
                g.writeStringField("data_type", configType(t.datatype()));
                g.writeStringField("format", t.name().equals(ServedModel.INPUT) ? "FORMAT_NCHW" : "FORMAT_NONE");
                dims(g, t.shape());
                g.writeBooleanField("optional", true);
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("output");
            for (ServedModel.TensorSpec t : m.outputs()) {
                g.writeStartObject();
                g.writeStringField("name", t.name());
                g.writeStringField("data_type", configType(t.datatype()));
                dims(g, t.shape());
                g.writeEndObject();
            }
            g.writeEndArray();
            if (policy.maxBatchSize() > 1) {
                g.writeObjectFieldStart("dynamic_batching");
                g.writeArrayFieldStart("preferred_batch_size");
                int[] padded = policy.paddedSizes();
                if (padded.length == 0) g.writeNumber(policy.maxBatchSize());
                for (int s : padded) g.writeNumber(s);
                g.writeEndArray();
                g.writeNumberField("max_queue_delay_microseconds", policy.maxQueueDelayMicros());
                g.writeObjectFieldStart("default_queue_policy");
                g.writeNumberField("max_queue_size", policy.queueLimit());
                g.writeEndObject();
                g.writeEndObject();
            }
            g.writeArrayFieldStart("instance_group");
            g.writeStartObject();
            g.writeStringField("name", m.name());
            g.writeStringField("kind", m.backend().equals("cuda") ? "KIND_GPU" : "KIND_CPU");
            g.writeNumberField("count", instances);
            g.writeEndObject();
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    private static String configType(String datatype) {
        return datatype.equals("BYTES") ? "TYPE_STRING" : "TYPE_" + datatype.toUpperCase(Locale.ROOT);
    }

    /** The shape without its leading batch dimension. */
    private static void dims(JsonGenerator g, long[] shape) throws IOException {
        g.writeArrayFieldStart("dims");
        for (int i = 1; i < shape.length; i++) g.writeNumber(shape[i]);
        g.writeEndArray();
    }

    /** Triton's statistics: cumulative counts and nanoseconds since the server started. */
    public static byte[] statistics(ServedModel m, ModelStatistics.Snapshot s) {
        return json(g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("model_stats");
            g.writeStartObject();
            g.writeStringField("name", m.name());
            g.writeStringField("version", ServedModel.VERSION);
            g.writeNumberField("last_inference", s.lastInferenceMillis());
            g.writeNumberField("inference_count", s.inferenceCount());
            g.writeNumberField("execution_count", s.executionCount());
            g.writeObjectFieldStart("inference_stats");
            duration(g, "success", s.success());
            duration(g, "fail", s.fail());
            duration(g, "queue", s.queue());
            duration(g, "compute_input", new ModelStatistics.Duration(0, 0));
            duration(g, "compute_infer", s.computeInfer());
            duration(g, "compute_output", new ModelStatistics.Duration(0, 0));
            g.writeEndObject();
            g.writeArrayFieldStart("batch_stats");
            for (Map.Entry<Integer, ModelStatistics.Duration> e : s.batches().entrySet()) {
                g.writeStartObject();
                g.writeNumberField("batch_size", e.getKey());
                duration(g, "compute_infer", e.getValue());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    private static void duration(JsonGenerator g, String name, ModelStatistics.Duration d) throws IOException {
        g.writeObjectFieldStart(name);
        g.writeNumberField("count", d.count());
        g.writeNumberField("ns", d.ns());
        g.writeEndObject();
    }
}
