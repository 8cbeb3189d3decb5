package dev.mnv3.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.bench.Warmup;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code OrtComparison --processes}: each engine in a fresh JVM of its own per round, so that
 * neither one's JIT, heap or threads touch the other's. The parent starts a child JVM per engine
 * per round (ours, ORT; the next round ORT, ours) with its own JVM options, and the child warms its
 * engine up until steady, runs it for the round's seconds and writes the round and the logits to a
 * file the parent reads.
 */
final class Alone {
    private Alone() {
    }

    /** One engine's round in its own JVM, and its logits for the input of seed 7. */
    record Result(ComparisonTable.Round round, float[] logits) {
        void write(Path file) throws IOException {
            Warmup.Outcome w = round.warmup();
            Files.writeString(file, String.format(Locale.ROOT, "warmup %s %s%ncpu_ms %s%nheap_kb_per_run %s%nwall_ms %s%nlogits %s%n",
                    w.seconds(), w.how(), round.cpuMs(), round.heapKbPerRun(), Arrays.stream(round.wallMs()).mapToObj(Double::toString)
                            .collect(Collectors.joining(" ")), floats(logits)));
        }

        static Result read(Path file, int batch) throws IOException {
            Map<String, String[]> lines = Files.readAllLines(file).stream().map(l -> l.split(" "))
                    .collect(Collectors.toMap(l -> l[0], l -> Arrays.copyOfRange(l, 1, l.length)));
            String[] w = lines.get("warmup"), logits = lines.get("logits");
            float[] f = new float[logits.length];
            for (int i = 0; i < f.length; i++) f[i] = Float.parseFloat(logits[i]);
            return new Result(new ComparisonTable.Round(Arrays.stream(lines.get("wall_ms")).mapToDouble(Double::parseDouble).toArray(),
                    Double.parseDouble(lines.get("cpu_ms")[0]), Double.parseDouble(lines.get("heap_kb_per_run")[0]), batch, new Warmup.Outcome(Double.parseDouble(w[0]), w[1])), f);
        }

        private static String floats(float[] x) {
            StringBuilder sb = new StringBuilder();
            for (float v : x) sb.append(sb.isEmpty() ? "" : " ").append(v);
            return sb.toString();
        }
    }

    /** The parent: {@code rounds} rounds of one model and batch, each engine in a child JVM, the order alternating. */
    static ComparisonTable.Row compare(Path dir, String model, int batch, int threads, int rounds, double seconds)
            throws IOException, InterruptedException {
        List<ComparisonTable.Round> ours = new ArrayList<>(), ort = new ArrayList<>();
        double relL2 = Double.NaN;
        for (int round = 0; round < rounds; round++) {
            Result first = child(round % 2 == 0 ? "ours" : "ort", dir, model, batch, threads, seconds);
            Result second = child(round % 2 == 0 ? "ort" : "ours", dir, model, batch, threads, seconds);
            Result o = round % 2 == 0 ? first : second, t = round % 2 == 0 ? second : first;
            ours.add(o.round());
            ort.add(t.round());
            // the same model: logits must agree before any speed is worth comparing
            relL2 = TensorDiff.of(o.logits(), t.logits()).relL2();
            if (!(relL2 < 1e-4)) throw new IllegalStateException(model + ": ORT and mnv3 disagree, logits rel L2 " + relL2);
        }
        return new ComparisonTable.Row(model, batch, ours, ort, relL2);
    }

    private static Result child(String engine, Path dir, String model, int batch, int threads, double seconds)
            throws IOException, InterruptedException {
        Path file = Files.createTempFile("mnv3-ort-" + engine + "-", ".txt");
        try {
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments()); // -XX:UseAVX=2 and MNV3_JAVA_OPTS too
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), OrtComparison.class.getName(), "--engine", engine,
                    "--onnx-dir", dir.toString(), "--models", model, "--batches", Integer.toString(batch), "--threads",
                    Integer.toString(threads), "--seconds", Double.toString(seconds), "--result", file.toString()));
            int rc = new ProcessBuilder(cmd).inheritIO().start().waitFor();
            if (rc != 0) throw new IllegalStateException("the " + engine + " JVM for " + model + " batch " + batch + " failed (exit " + rc + ")");
            return Result.read(file, batch);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** The child: {@code --engine ours|ort} on one model and batch, warmed up until steady, then one round. */
    static void measure(Map<String, String> opt) throws IOException, OrtException {
        String engine = opt.get("engine"), model = opt.getOrDefault("models", "large"), result = opt.get("result");
        if (!engine.equals("ours") && !engine.equals("ort")) throw new IllegalArgumentException("--engine takes ours or ort, got " + engine);
        if (result == null) throw new IllegalArgumentException("--engine needs --result FILE");
        if (model.contains(",") || opt.getOrDefault("batches", "1").contains(",")) {
            throw new IllegalArgumentException("--engine measures one model and one batch");
        }
        Path dir = Path.of(opt.getOrDefault("onnx-dir", "build/ort"));
        int batch = Integer.parseInt(opt.getOrDefault("batches", "1")), threads = Integer.parseInt(opt.getOrDefault("threads", "2"));
        double seconds = Double.parseDouble(opt.getOrDefault("seconds", "2"));
        Tensor input = RandomWeights.input(batch, 224, 224, 7);
        Result r;
        if (engine.equals("ours")) {
            Graph graph = Graph.of(MobileNetV3Config.named(model));
            Weights weights = Weights.load(dir.resolve(model + ".safetensors"), graph);
            try (CompiledModel ours = Backends.named("cpu").compile(graph, weights, CompileOptions.fromSystemProperties().withThreads(threads))) {
                float[] logits = ours.run(input).data();
                OrtComparison.Engine e = () -> ours.run(input);
                r = new Result(OrtComparison.collect(e, seconds, batch, OrtComparison.warmUp(e)), logits);
            }
        } else {
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions so = OrtComparison.sessionOptions(threads);
                 OrtSession session = env.createSession(dir.resolve(model + ".onnx").toString(), so);
                 OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.data()), new long[] {batch, 3, 224, 224})) {
                float[] logits = OrtComparison.runOrt(session, x);
                OrtComparison.Engine e = () -> OrtComparison.runOrt(session, x);
                r = new Result(OrtComparison.collect(e, seconds, batch, OrtComparison.warmUp(e)), logits);
            }
        }
        r.write(Path.of(result));
    }
}
