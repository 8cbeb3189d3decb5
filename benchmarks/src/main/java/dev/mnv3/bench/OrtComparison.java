package dev.mnv3.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.bench.Throughput;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.fast.FastBackend;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * mnv3's CPU backend against ONNX Runtime on the same weights, same machine, same thread count,
 * in one JVM: the two engines alternate in short rounds so that whatever else the machine does
 * hits both alike. Prints img/s per engine and the ratio ours/ORT for every model and batch.
 *
 * <p>Arguments: {@code --onnx-dir DIR} (holds {model}.onnx exported from {model}.safetensors by
 * benchmarks/export_onnx.py; see compare-ort.sh), {@code --models large,small},
 * {@code --batches 1,8}, {@code --threads 2}, {@code --rounds 5}, {@code --seconds 2} (per
 * engine per round), {@code --profile} (a per-layer profile of ours after the table).
 */
public final class OrtComparison {
    private OrtComparison() {
    }

    record Row(String model, int batch, Throughput.Result ours, Throughput.Result ort, double logitsRelL2) {
        double ratio() {
            return ours.imagesPerSecond() / ort.imagesPerSecond();
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = parse(args);
        Path dir = Path.of(opt.getOrDefault("onnx-dir", "build/ort"));
        List<String> models = List.of(opt.getOrDefault("models", "large,small").split(","));
        int[] batches = Arrays.stream(opt.getOrDefault("batches", "1,8").split(",")).mapToInt(Integer::parseInt).toArray();
        int threads = Integer.parseInt(opt.getOrDefault("threads", "2"));
        int rounds = Integer.parseInt(opt.getOrDefault("rounds", "5"));
        double seconds = Double.parseDouble(opt.getOrDefault("seconds", "2"));

        System.out.printf(Locale.ROOT, "mnv3 cpu (Vector API: %s) vs ONNX Runtime %s, %d threads each, 224x224, %d rounds x %.1f s per engine%n",
                FastBackend.vectorized() ? "yes" : "NO", OrtEnvironment.getEnvironment().getVersion(), threads, rounds, seconds);
        List<Row> rows = new ArrayList<>();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        for (String model : models) {
            Graph graph = Graph.of(MobileNetV3Config.named(model));
            Weights weights = Weights.load(dir.resolve(model + ".safetensors"), graph);
            Path onnx = dir.resolve(model + ".onnx");
            if (!Files.exists(onnx)) throw new IllegalStateException(onnx + " is missing: run benchmarks/compare-ort.sh");
            try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                so.setIntraOpNumThreads(threads);
                so.setInterOpNumThreads(1);
                so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                try (OrtSession session = env.createSession(onnx.toString(), so);
                     CompiledModel ours = new FastBackend().compile(graph, weights, CompileOptions.defaults().withThreads(threads))) {
                    for (int batch : batches) {
                        rows.add(compare(env, session, ours, model, batch, rounds, seconds));
                        Row r = rows.getLast();
                        System.out.printf(Locale.ROOT, "  %s batch %d: ours %.1f img/s, ORT %.1f img/s, ratio %.2f%n", model, batch,
                                r.ours().imagesPerSecond(), r.ort().imagesPerSecond(), r.ratio());
                    }
                    if (opt.containsKey("profile")) profile(ours, model);
                }
            }
        }
        System.out.println();
        System.out.println("| model | batch | mnv3 cpu img/s | ORT img/s | ours/ORT | mnv3 p50 ms | ORT p50 ms | logits rel L2 |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.2f | %.2f | %.2f | %.1e |%n", r.model(), r.batch(),
                    r.ours().imagesPerSecond(), r.ort().imagesPerSecond(), r.ratio(), r.ours().p50Ms(), r.ort().p50Ms(), r.logitsRelL2());
        }
    }

    private static Row compare(OrtEnvironment env, OrtSession session, CompiledModel ours, String model, int batch, int rounds,
                               double seconds) throws OrtException {
        Tensor input = RandomWeights.input(batch, 224, 224, 7);
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.data()), new long[] {batch, 3, 224, 224})) {
            // the same model: logits must agree before any speed is worth comparing
            float[] ortLogits = runOrt(session, x);
            double relL2 = TensorDiff.of(ours.run(input).data(), ortLogits).relL2();
            if (!(relL2 < 1e-4)) throw new IllegalStateException(model + ": ORT and mnv3 disagree, logits rel L2 " + relL2);
            Engine mnv3 = () -> ours.run(input);
            Engine ort = () -> runOrt(session, x);
            List<Double> oursMs = new ArrayList<>(), ortMs = new ArrayList<>(), warmUp = new ArrayList<>();
            collect(mnv3, 1.5, warmUp);
            collect(ort, 1.5, warmUp);
            for (int round = 0; round < rounds; round++) {
                collect(mnv3, seconds, oursMs);
                collect(ort, seconds, ortMs);
            }
            return new Row(model, batch, summarize(batch, oursMs), summarize(batch, ortMs), relL2);
        }
    }

    /** One inference of one engine. */
    private interface Engine {
        void run() throws OrtException;
    }

    private static void collect(Engine e, double seconds, List<Double> ms) throws OrtException {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        do {
            long t = System.nanoTime();
            e.run();
            ms.add((System.nanoTime() - t) / 1e6);
        } while (System.nanoTime() < end);
    }

    private static Throughput.Result summarize(int batch, List<Double> ms) {
        return Throughput.summarize(batch, ms.stream().mapToDouble(Double::doubleValue).toArray());
    }

    static float[] runOrt(OrtSession session, OnnxTensor x) throws OrtException {
        try (OrtSession.Result r = session.run(Map.of("input", x))) {
            return ((OnnxTensor) r.get(0)).getFloatBuffer().array();
        }
    }

    /** Per-layer profile of our backend: where the time goes. */
    private static void profile(CompiledModel ours, String model) {
        Map<String, Double> ms = FastBackend.profile(ours, RandomWeights.input(1, 224, 224, 3), 20);
        double total = ms.values().stream().mapToDouble(Double::doubleValue).sum();
        System.out.printf(Locale.ROOT, "  per-layer profile of %s, batch 1 (ms per image, %.2f in all):%n", model, total);
        ms.forEach((k, v) -> System.out.printf(Locale.ROOT, "    %-14s %6.2f  %5.1f%%%n", k, v, 100 * v / total));
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new java.util.HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) throw new IllegalArgumentException("unexpected argument " + args[i]);
            String key = args[i].substring(2);
            if (key.equals("profile")) m.put(key, "true");
            else if (i + 1 < args.length) m.put(key, args[++i]);
            else throw new IllegalArgumentException("--" + key + " needs a value");
        }
        return m;
    }

}
