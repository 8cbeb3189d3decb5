package dev.mnv3.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.mnv3.core.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ONNX Runtime's own per-node timings, grouped by mnv3's node names, for a layer-by-layer
 * comparison: ORT writes a trace (one event per kernel run, named after the exported graph's
 * node, e.g. "/features/features.3/block/block.1/block.1.0/Conv..."), and each mnv3 node gets the
 * kernels under its name. Kernels without a layer name (ORT's NCHWc layout reorders) are reported
 * as "(layout reorders)"; the classifier's h-swish goes to classifier.0, which applies it in mnv3.
 */
final class OrtProfile {
    static final String REORDERS = "(layout reorders)";
    private static final Pattern LAYER = Pattern.compile("^/(features/(features\\.\\d+)|avgpool|Flatten|classifier/(classifier\\.\\d+))");

    private OrtProfile() {
    }

    /**
     * Milliseconds per node name: the least over {@code runs} runs of the sum of that node's
     * kernels in a run (the least is what the machine's other load did not inflate).
     */
    static Map<String, Double> measure(OrtEnvironment env, Path onnx, OrtSession.SessionOptions so, OnnxTensor input, int runs)
            throws OrtException, IOException {
        Path prefix = Files.createTempFile("mnv3-ort-profile", "");
        so.enableProfiling(prefix.toString());
        String trace;
        try (OrtSession s = env.createSession(onnx.toString(), so)) {
            for (int r = 0; r < runs + 2; r++) OrtComparison.runOrt(s, input); // the first two: warm-up
            trace = s.endProfiling();
        } finally {
            so.disableProfiling();
            Files.deleteIfExists(prefix);
        }
        try {
            return parse(Files.readString(Path.of(trace)), 2);
        } finally {
            Files.deleteIfExists(Path.of(trace));
        }
    }

    /** From the trace's JSON: per node name, the least per-run sum over the runs after the first {@code skip}. */
    static Map<String, Double> parse(String json, int skip) {
        List<Object> events = Json.array(Json.parse(json), "the ORT profile");
        Map<String, Double> least = new LinkedHashMap<>(), run = new LinkedHashMap<>();
        int runsSeen = 0;
        for (Object e : events) {
            Map<String, Object> ev = Json.object(e, "a profile event");
            String cat = String.valueOf(ev.get("cat")), name = String.valueOf(ev.get("name"));
            if (cat.equals("Session") && name.equals("model_run")) { // written when a run ends
                if (runsSeen++ >= skip) run.forEach((k, v) -> least.merge(k, v, Math::min));
                run.clear();
            } else if (cat.equals("Node")) {
                run.merge(layer(name), ((Number) ev.get("dur")).doubleValue() / 1e3, Double::sum);
            }
        }
        return least;
    }

    static String layer(String kernel) {
        Matcher m = LAYER.matcher(kernel);
        if (!m.find()) return REORDERS;
        if (m.group(2) != null) return m.group(2);
        if (m.group(3) != null) return m.group(3).equals("classifier.1") ? "classifier.0" : m.group(3);
        return "avgpool"; // the pool and the flatten after it
    }
}
