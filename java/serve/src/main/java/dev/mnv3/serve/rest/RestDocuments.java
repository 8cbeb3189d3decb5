package dev.mnv3.serve.rest;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.mnv3.serve.ModelConfiguration;
import dev.mnv3.serve.ModelStatistics;
import dev.mnv3.serve.ServedModel;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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

    /** Triton's model configuration ({@link ModelConfiguration}) as Triton's REST endpoint writes it. */
    public static byte[] modelConfig(ModelConfiguration c) {
        return json(g -> {
            g.writeStartObject();
            g.writeStringField("name", c.name());
            g.writeStringField("platform", c.platform());
            g.writeStringField("backend", c.backend());
            g.writeNumberField("max_batch_size", c.maxBatchSize());
            g.writeArrayFieldStart("input");
            for (ModelConfiguration.Tensor t : c.inputs()) {
                tensor(g, t);
                g.writeStringField("format", t.format());
                g.writeBooleanField("optional", true);
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("output");
            for (ModelConfiguration.Tensor t : c.outputs()) {
                tensor(g, t);
                g.writeEndObject();
            }
            g.writeEndArray();
            if (c.batching()) {
                g.writeObjectFieldStart("dynamic_batching");
                g.writeArrayFieldStart("preferred_batch_size");
                for (int s : c.preferredBatchSizes()) g.writeNumber(s);
                g.writeEndArray();
                g.writeNumberField("max_queue_delay_microseconds", c.maxQueueDelayMicros());
                g.writeObjectFieldStart("default_queue_policy");
                g.writeNumberField("max_queue_size", c.maxQueueSize());
                g.writeEndObject();
                g.writeEndObject();
            }
            g.writeArrayFieldStart("instance_group");
            g.writeStartObject();
            g.writeStringField("name", c.name());
            g.writeStringField("kind", c.instanceKind());
            g.writeNumberField("count", c.instanceCount());
            g.writeEndObject();
            g.writeEndArray();
            g.writeObjectFieldStart("parameters");
            for (Map.Entry<String, String> p : new TreeMap<>(c.parameters()).entrySet()) {
                g.writeObjectFieldStart(p.getKey());
                g.writeStringField("string_value", p.getValue());
                g.writeEndObject();
            }
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    /** A tensor's object, left open for the caller's fields. */
    private static void tensor(JsonGenerator g, ModelConfiguration.Tensor t) throws IOException {
        g.writeStartObject();
        g.writeStringField("name", t.name());
        g.writeStringField("data_type", t.dataType());
        g.writeArrayFieldStart("dims");
        for (long d : t.dims()) g.writeNumber(d);
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
