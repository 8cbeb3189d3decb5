package dev.mnv3.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.bench.ReportDirectory;
import dev.mnv3.core.bench.Warmup;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.CpuInfo;
import java.lang.management.ManagementFactory;
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
 * in one JVM: each engine warms up until steady ({@link Warmup#steady()}, as {@code mnv3 bench}
 * does), then the two alternate in short rounds (which goes first alternates too) so that whatever
 * else the machine does hits both alike. With {@code --processes} every round runs each engine in
 * a fresh JVM of its own instead (the same JVM options, ours and ORT alternated, each warmed up
 * until steady), so neither engine's JIT, heap or threads affect the other's. For every model and batch it prints the ratio
 * ours/ORT of each round's images per second, and reports their median with the min and max: a
 * burst of load from another process moves one round, not the verdict. With {@code --threads 1}
 * both engines run on the calling thread, and the ratio of the thread's CPU time per image is
 * printed too, which time stolen by other processes does not change. Each row says how long each
 * engine's warm-up took (a range over the rounds' JVMs with {@code --processes}).
 *
 * <p>Arguments: {@code --onnx-dir DIR} (holds {model}.onnx exported from {model}.safetensors by
 * benchmarks/export_onnx.py; see compare-ort.sh), {@code --models large,small},
 * {@code --batches 1,8,32}, {@code --threads 2}, {@code --rounds 5}, {@code --seconds 2} (per
 * engine per round), {@code --profile} (a per-layer profile of both engines after each model's rows),
 * {@code --profile-batch N} (the same at batch N), {@code --report DIR} (results.json and results.csv there, in
 * {@code mnv3 bench --report}'s format), {@code --processes} (each engine in its own JVM per round; not with
 * {@code --profile}). Internal, for those JVMs: {@code --engine ours|ort --result FILE} measures one engine on one
 * model and batch and writes its round and logits to FILE.
 */
public final class OrtComparison {
    private OrtComparison() {
    }

    public static void main(String[] args) throws Exception {
        try {
            run(args);
        } catch (IllegalArgumentException e) { // a wrong argument: one line, as the shell scripts print theirs
            System.err.println("compare-ort: " + e.getMessage());
            System.exit(2);
        }
    }

    private static void run(String[] args) throws Exception {
        Map<String, String> opt = parse(args);
        if (opt.containsKey("engine")) {
            Alone.measure(opt);
            return;
        }
        boolean processes = opt.containsKey("processes");
        if (processes && opt.containsKey("profile")) {
            throw new IllegalArgumentException("--profile compares layers in one JVM: leave out --processes");
        }
        Path dir = Path.of(opt.getOrDefault("onnx-dir", "build/ort"));
        List<String> models = List.of(opt.getOrDefault("models", "large,small").split(","));
        int[] batches = Arrays.stream(opt.getOrDefault("batches", "1,8,32").split(",")).mapToInt(Integer::parseInt).toArray();
        int threads = Integer.parseInt(opt.getOrDefault("threads", "2"));
        int rounds = Integer.parseInt(opt.getOrDefault("rounds", "5"));
        double seconds = Double.parseDouble(opt.getOrDefault("seconds", "2"));
        if (rounds < 1 || threads < 1 || !(seconds > 0)) throw new IllegalArgumentException("--rounds, --threads and --seconds must be positive");
        // checked before the long run, written after it
        ReportDirectory report = opt.containsKey("report") ? ReportDirectory.check(Path.of(opt.get("report"))) : null;

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        String isa = oursIsa();
        System.out.printf(Locale.ROOT, "CPU: %s%nmnv3 cpu: %s; compiled for %s%nvs ONNX Runtime %s at its own best ISA; %d threads "
                        + "each, 224x224, %d rounds x %.1f s per engine, %s, warmed up until steady%n",
                CpuInfo.here().describe(), Backends.named("cpu").kernelsDescription(), isa, env.getVersion(), threads, rounds, seconds,
                processes ? "each engine in a fresh JVM of its own per round" : "both in this JVM");
        List<ComparisonTable.Row> rows = new ArrayList<>();
        for (String model : models) {
            Path onnx = dir.resolve(model + ".onnx");
            if (!Files.exists(onnx)) throw new IllegalStateException(onnx + " is missing: run benchmarks/compare-ort.sh");
            if (processes) {
                for (int batch : batches) {
                    ComparisonTable.Row r = Alone.compare(dir, model, batch, threads, rounds, seconds);
                    rows.add(r);
                    System.out.println(ComparisonTable.roundLine(r));
                }
                continue;
            }
            Graph graph = Graph.of(MobileNetV3Config.named(model));
            Weights weights = Weights.load(dir.resolve(model + ".safetensors"), graph);
            try (OrtSession.SessionOptions so = sessionOptions(threads)) {
                try (OrtSession session = env.createSession(onnx.toString(), so);
                     CompiledModel ours = Backends.named("cpu").compile(graph, weights, CompileOptions.fromSystemProperties().withThreads(threads))) {
                    for (int batch : batches) {
                        ComparisonTable.Row r = compare(env, session, ours, model, batch, rounds, seconds);
                        rows.add(r);
                        System.out.println(ComparisonTable.roundLine(r));
                    }
                    if (opt.containsKey("profile")) {
                        profile(ours, env, onnx, so, model, Integer.parseInt(opt.getOrDefault("profile-batch", "1")));
                    }
                }
            }
        }
        ComparisonTable.print(rows, isa, threads == 1, processes);
        if (report != null) OrtReport.write(report, rows, env.getVersion(), threads, seconds, List.of(args));
    }

    private static ComparisonTable.Row compare(OrtEnvironment env, OrtSession session, CompiledModel ours, String model, int batch, int rounds,
                               double seconds) throws OrtException {
        Tensor input = RandomWeights.input(batch, 224, 224, 7);
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.data()), new long[] {batch, 3, 224, 224})) {
            // the same model: logits must agree before any speed is worth comparing
            float[] ortLogits = runOrt(session, x);
            double relL2 = TensorDiff.of(ours.run(input).data(), ortLogits).relL2();
            if (!(relL2 < 1e-4)) throw new IllegalStateException(model + ": ORT and mnv3 disagree, logits rel L2 " + relL2);
            Engine mnv3 = () -> ours.run(input);
            Engine ort = () -> runOrt(session, x);
            Warmup.Outcome oursWarm = warmUp(mnv3), ortWarm = warmUp(ort);
            List<ComparisonTable.Round> oursRounds = new ArrayList<>(), ortRounds = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                if (round % 2 == 0) {
                    oursRounds.add(collect(mnv3, seconds, batch, round == 0 ? oursWarm : null));
                    ortRounds.add(collect(ort, seconds, batch, round == 0 ? ortWarm : null));
                } else {
                    ortRounds.add(collect(ort, seconds, batch, null));
                    oursRounds.add(collect(mnv3, seconds, batch, null));
                }
            }
            return new ComparisonTable.Row(model, batch, oursRounds, ortRounds, relL2);
        }
    }

    /** One inference of one engine. */
    interface Engine {
        void run() throws OrtException;
    }

    static OrtSession.SessionOptions sessionOptions(int threads) throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(threads);
        so.setInterOpNumThreads(1);
        so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return so;
    }

    static ComparisonTable.Round collect(Engine e, double seconds, int batch, Warmup.Outcome warmup) throws OrtException {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        List<Double> ms = new ArrayList<>();
        long heap = threads.getTotalThreadAllocatedBytes();
        long cpu = threads.getCurrentThreadCpuTime(), end = System.nanoTime() + (long) (seconds * 1e9);
        do {
            long t = System.nanoTime();
            e.run();
            ms.add((System.nanoTime() - t) / 1e6);
        } while (System.nanoTime() < end);
        double cpuMs = (threads.getCurrentThreadCpuTime() - cpu) / 1e6;
        double heapKb = (threads.getTotalThreadAllocatedBytes() - heap) / 1024.0 / ms.size();
        return new ComparisonTable.Round(ms.stream().mapToDouble(Double::doubleValue).toArray(), cpuMs, heapKb, batch, warmup);
    }

    /**
     * Runs an engine until its throughput is steady, as {@code mnv3 bench} does: until C2 has
     * compiled the Vector API kernels they run as Java loops, many times slower, and on a loaded
     * machine the compiler thread can take many seconds to get there.
     */
    static Warmup.Outcome warmUp(Engine e) {
        return Warmup.steady().run(() -> {
            try {
                e.run();
            } catch (OrtException x) {
                throw new IllegalStateException(x);
            }
        });
    }

    /**
     * The ISA C2 compiles our kernels to: the CPU's, or AVX2 where -XX:UseAVX=2 caps it (then C2
     * uses no AVX-512 instruction, however wide the CPU).
     */
    private static String oursIsa() {
        String cpu = CpuInfo.here().isa();
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-XX:UseAVX=")) {
                String level = arg.substring("-XX:UseAVX=".length());
                String capped = switch (level) {
                    case "0" -> "SSE";
                    case "1" -> "AVX";
                    case "2" -> "AVX2";
                    default -> cpu;
                };
                return capped.equals(cpu) ? cpu : capped + " (-XX:UseAVX=" + level + ")";
            }
        }
        return cpu;
    }

    static float[] runOrt(OrtSession session, OnnxTensor x) throws OrtException {
        try (OrtSession.Result r = session.run(Map.of("input", x))) {
            return ((OnnxTensor) r.get(0)).getFloatBuffer().array();
        }
    }

    /**
     * Where the time goes, layer by layer: each engine's own per-node timings (ours from
     * CompiledModel.layerMillis, ORT's from its profiler), each the least over the runs, per batch.
     */
    private static void profile(CompiledModel ours, OrtEnvironment env, Path onnx, OrtSession.SessionOptions so, String model,
                                int batch) throws OrtException, java.io.IOException {
        Tensor input = RandomWeights.input(batch, 224, 224, 3);
        int runs = batch > 1 ? 10 : 30;
        Map<String, Double> mine = ours.layerMillis(input, runs), theirs;
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.data()), new long[] {batch, 3, 224, 224})) {
            theirs = OrtProfile.measure(env, onnx, so, x, runs);
        }
        double oursTotal = mine.values().stream().mapToDouble(Double::doubleValue).sum();
        double ortTotal = theirs.values().stream().mapToDouble(Double::doubleValue).sum();
        System.out.printf(Locale.ROOT, "%nper-layer profile of %s, batch %d, ms per batch (least of %d runs): ours %.2f, ORT %.2f in all%n",
                model, batch, runs, oursTotal, ortTotal);
        System.out.println("| node | ours ms | ORT ms | ours/ORT time |");
        System.out.println("|---|---|---|---|");
        java.util.Set<String> names = new java.util.LinkedHashSet<>(mine.keySet());
        names.addAll(theirs.keySet());
        for (String n : names) {
            double o = mine.getOrDefault(n, 0.0), t = theirs.getOrDefault(n, 0.0);
            System.out.printf(Locale.ROOT, "| %s | %.3f | %.3f | %s |%n", n, o, t,
                    o > 0 && t > 0 ? String.format(Locale.ROOT, "%.2f", o / t) : "-");
        }
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new java.util.HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) throw new IllegalArgumentException("unexpected argument " + args[i]);
            String key = args[i].substring(2);
            if (key.equals("profile") || key.equals("processes")) m.put(key, "true");
            else if (key.equals("profile-batch")) {
                m.put("profile", "true");
                if (i + 1 < args.length) m.put(key, args[++i]);
                else throw new IllegalArgumentException("--profile-batch needs a value");
            }
            else if (i + 1 < args.length) m.put(key, args[++i]);
            else throw new IllegalArgumentException("--" + key + " needs a value");
        }
        return m;
    }

}
