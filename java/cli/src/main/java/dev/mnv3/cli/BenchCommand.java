package dev.mnv3.cli;

import dev.mnv3.cli.report.Reports;
import dev.mnv3.core.Json;
import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.CudaSettings;
import dev.mnv3.core.backend.CudnnMode;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.bench.BenchResults;
import dev.mnv3.core.bench.ReportDirectory;
import dev.mnv3.core.bench.Throughput;
import dev.mnv3.core.bench.Warmup;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.cuda.CudaModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "bench", mixinStandardHelpOptions = true, description = {
        "Measure throughput and latency of one backend on random weights and inputs.",
        "Warms up, then runs the same batch repeatedly and prints images per second and the per-batch latency p50/p99; "
                + "--json prints one JSON object per measurement on stdout instead.",
        "--precision, --graphs, --cudnn, --clients and --batch take comma-separated lists, and every combination is "
                + "measured in one process (one model compiled per precision, graphs and cuDNN setting); --sweep measures such "
                + "groups instead. A measurement that fails is reported (with --json as an object with \"error\") and the "
                + "others still run; the exit status is then 1."})
final class BenchCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    BackendOptions backend;

    @Option(names = "--batch", paramLabel = "N", split = ",", defaultValue = "1",
            description = "Images per batch; several, comma-separated, are measured in turn (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Mixin
    SizeOption size;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "5", description = "Timed duration per measurement (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--warmup", paramLabel = "S", description = "Untimed warm-up per measurement, S seconds fixed (default: until "
            + "throughput is steady: the JIT quiet and the last 3 windows of 0.5 s within 3%%, at most 20 s; the report says "
            + "how long it took).")
    Double warmup;

    @Option(names = "--clients", paramLabel = "C", split = ",", defaultValue = "1",
            description = "Threads calling the model at once, as a service's request threads would; images/s counts them all "
                    + "(the CUDA backend runs each on its own stream, up to --cuda-streams, default 4); several, "
                    + "comma-separated, are measured in turn (default: ${DEFAULT-VALUE}).")
    List<Integer> clients;

    @Option(names = "--graphs", paramLabel = "on|off", split = ",",
            description = "cuda: replay each batch shape as a captured CUDA graph (on), or launch every kernel on every run "
                    + "(off); on,off measures both (default: on, or off with --no-cuda-graphs).")
    List<String> graphs;

    @Option(names = "--sweep", paramLabel = "SPEC",
            description = "Measure a group of combinations instead of the lists above: space-separated key=v[,v...] with "
                    + "keys precision, graphs, cudnn, clients and batch, the lists above for keys not given; repeat for several "
                    + "groups, e.g. --sweep \"precision=fp32,fp16 graphs=on,off batch=1,256\" --sweep \"precision=fp16 "
                    + "clients=4 batch=8,64\".")
    List<String> sweeps;

    @Option(names = "--show-kernels", description = "cuda: print to stderr, after each model's runs, which kernel ran each "
            + "conv that ours and cuDNN can both run, with the times measured when the plan was built, and the cuDNN "
            + "algorithm each cuDNN conv timed and kept.")
    boolean showKernels;

    @Option(names = "--json", description = "Print one JSON object per measurement: images_per_second, p50_ms, p99_ms and the "
            + "settings (model, backend, precision, cuda_graphs: whether CUDA graphs were replayed, cudnn: whether a CUDA "
            + "model used cuDNN, vector_bits: the CPU kernels' vector width, 0 for plain loops, null on the GPU, batch, "
            + "clients, ...); a measurement that failed gives {..., \"batch\": N, \"error\": \"why\"}.")
    boolean json;

    @Option(names = "--report", paramLabel = "DIR", description = "Also write DIR/results.json (every measurement with its "
            + "settings, and the machine), DIR/results.csv and DIR/report.html, a page with charts: images/s against batch size, "
            + "latency against clients, engines side by side. DIR must be new, empty or hold only those three files.")
    Path report;

    @Option(names = "--from", paramLabel = "FILE", description = "With --report: measure nothing, draw the report from a "
            + "results.json written before (by --report, benchmarks/compare-ort.sh --report, ...).")
    Path from;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** Every measurement as its JSON object, for --report. */
    private final List<Map<String, Object>> measured = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        ReportDirectory reportDir = report == null ? null : ReportDirectory.check(report);
        if (from != null) {
            if (reportDir == null) throw new Main.UserError("--from needs --report DIR: where to write the report");
            Reports.write(reportDir, BenchResults.read(from), spec.commandLine().getErr());
            return 0;
        }
        Durations.check("--seconds", seconds, false);
        if (warmup != null) Durations.check("--warmup", warmup, true);
        List<Precision> precisions = BenchPoints.precisions(backend.precision);
        List<CudnnMode> cudnnModes = BenchPoints.cudnn(backend.cudnn);
        // the flags over the properties, as every measurement compiles with them: the default graphs, the GPU reported
        CudaSettings cuda = backend.options(precisions.getFirst(), cudnnModes.getFirst()).cuda();
        BenchPoints.Group defaults = new BenchPoints.Group(precisions,
                graphs == null ? List.of(cuda.graphs()) : BenchPoints.graphs(String.join(",", graphs)),
                cudnnModes, List.copyOf(clients), List.copyOf(batches));
        List<BenchPoints.Point> points = BenchPoints.of(defaults, sweeps);
        Graph graph = Graph.of(model.config());
        for (BenchPoints.Point p : points) {
            if (p.clients() < 1 || p.clients() > 256) throw new Main.UserError("--clients must be from 1 to 256, got " + p.clients());
            size.check(graph, p.batch());
        }
        Backend b = backend.resolve();
        Map<BenchPoints.Setting, List<BenchPoints.Point>> bySetting = BenchPoints.bySetting(points);
        // the failure summary names what varies: the batch size alone in the plain case
        boolean onlyBatches = bySetting.size() == 1 && points.stream().map(BenchPoints.Point::clients).distinct().count() == 1;
        // until a measurement ends, a steady warm-up is guessed at its shortest (four windows)
        double plannedWarmup = warmup == null ? 4 * Warmup.WINDOW_SECONDS : warmup;
        clock = points.size() > 1 ? new SweepClock(points.size(), plannedWarmup + seconds) : null;
        RuntimeException notCompiled = null;
        for (Map.Entry<BenchPoints.Setting, List<BenchPoints.Point>> e : bySetting.entrySet()) {
            notCompiled = measure(b, graph, e.getKey(), e.getValue(), onlyBatches);
            if (notCompiled != null && bySetting.size() == 1) break;
        }
        if (reportDir != null) {
            Reports.write(reportDir, BenchResults.of("mnv3 bench", "mnv3 " + String.join(" ",
                            spec.commandLine().getParseResult().originalArgs()), Reports.machine(b.usesDevices(), cuda.resolvedDevice()),
                    measured), spec.commandLine().getErr());
        }
        if (notCompiled != null && bySetting.size() == 1) throw notCompiled; // its own message says it all
        if (!failures.isEmpty()) {
            if (points.size() == 1) throw firstFailure;
            throw new Main.UserError(failures.size() + " of " + points.size() + (onlyBatches ? " batch sizes" : " measurements")
                    + " failed: " + String.join("; ", failures), firstFailure);
        }
        return 0;
    }

    /** What failed so far, described, and the first exception. */
    private final List<String> failures = new ArrayList<>();
    private RuntimeException firstFailure;
    /** Where a run of several measurements stands; null for one. */
    private SweepClock clock;

    private void failed(BenchPoints.Point p, boolean onlyBatches, RuntimeException e) {
        failures.add(describe(p, onlyBatches) + ": " + Main.describe(e));
        if (firstFailure == null) firstFailure = e;
    }

    /**
     * Compiles the model for {@code setting} and measures its points; a point that fails is reported
     * and recorded, and the others still run. A model that does not compile fails all of its points
     * and is returned.
     */
    private RuntimeException measure(Backend b, Graph graph, BenchPoints.Setting setting, List<BenchPoints.Point> points,
                                     boolean onlyBatches) {
        PrintWriter out = spec.commandLine().getOut();
        CompileOptions base = backend.options(setting.precision(), setting.cudnn());
        CompileOptions options = base.withCuda(base.cuda().withGraphs(setting.graphs()));
        int threads = options.resolvedThreads();
        String name = graph.config().name();
        // what was asked for, reported on the error lines of a model that did not compile
        Precision precision = setting.precision();
        boolean graphs = setting.graphs() && b.replaysGraphs();
        Boolean cudnn = null;
        CompiledModel m;
        try {
            m = b.compile(graph, RandomWeights.generate(graph, 1), options);
        } catch (RuntimeException e) {
            for (BenchPoints.Point p : points) {
                emit(out, errorJson(name, b.name(), precision, graphs, p, Main.describe(e)));
                failed(p, onlyBatches, e);
                if (clock != null) clock.end();
            }
            out.flush();
            return e;
        }
        try (m) {
            if (m instanceof CudaModel c) { // what the model does: debug mode turns graphs off
                precision = c.precision();
                graphs = c.cudaGraphs();
                cudnn = c.usesCudnn();
            } else {
                graphs = false;
            }
            for (BenchPoints.Point p : points) {
                Throughput.Result r;
                try {
                    Progress progress = new Progress(spec.commandLine().getErr(), "bench " + name + " "
                            + (onlyBatches ? "" : setting.describe() + (p.clients() > 1 ? " x" + p.clients() : "") + " ")
                            + "batch " + p.batch());
                    if (clock != null) clock.begin();
                    r = Throughput.measure(m, size.randomInput(graph, p.batch(), 2), p.clients(),
                            warmup == null ? Warmup.steady() : Warmup.fixed(warmup), seconds,
                            clock == null ? progress::update : f -> progress.update(f, clock.detail()));
                    progress.done();
                } catch (RuntimeException e) {
                    emit(out, errorJson(name, b.name(), precision, graphs, p, Main.describe(e)));
                    out.flush();
                    failed(p, onlyBatches, e);
                    continue;
                } finally {
                    if (clock != null) clock.end();
                }
                String line = r.toJson(name, b.name(), precision, graphs, cudnn, vectorBits(b), threads, size.height(), size.width());
                emit(out, line);
                if (!json) {
                    out.printf("%s on %s (%s%s%s), batch %d at %s, %d threads%s: %.1f images/s, latency per batch p50 %.2f ms, "
                                    + "p99 %.2f ms (%d runs; %s)%n",
                            graph.config().describe(), b.name(), precision.name().toLowerCase(Locale.ROOT),
                            graphs ? ", CUDA graphs" : "", cudnn == null ? "" : cudnn ? ", cuDNN" : ", without cuDNN", p.batch(),
                            size, threads,
                            p.clients() > 1 ? ", " + p.clients() + " clients" : "", r.imagesPerSecond(), r.p50Ms(), r.p99Ms(),
                            r.runs(), r.warmup().describe());
                }
                out.flush();
            }
            if (showKernels && m instanceof CudaModel c) printKernelChoices(c, setting);
        }
        return null;
    }

    /** One measurement's JSON object: printed with --json, kept for --report. */
    private void emit(PrintWriter out, String line) {
        if (json) out.println(line);
        if (report != null) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("engine", "mnv3");
            m.putAll(Json.object(Json.parse(line), "a measurement"));
            measured.add(m);
        }
    }

    private static String describe(BenchPoints.Point p, boolean onlyBatches) {
        return onlyBatches ? "batch " + p.batch()
                : p.setting().describe() + ", " + p.clients() + (p.clients() == 1 ? " client" : " clients") + ", batch " + p.batch();
    }

    /** The vector width of the CPU kernels that ran: the fast backend's, 0 for the reference's plain loops, null on the GPU. */
    static Integer vectorBits(Backend b) {
        return b.kernelVectorBits();
    }

    private void printKernelChoices(CudaModel c, BenchPoints.Setting setting) {
        PrintWriter err = spec.commandLine().getErr();
        List<String> choices = c.kernelChoices();
        err.println("kernel choices (" + setting.describe() + "), ours or cuDNN, timed when each plan was built: "
                + (choices.isEmpty() ? "none" : ""));
        choices.forEach(line -> err.println("  " + line));
        err.flush();
    }

    private String errorJson(String model, String backend, Precision precision, boolean graphs, BenchPoints.Point p,
                             String error) {
        return String.format(Locale.ROOT,
                "{\"model\":%s,\"backend\":%s,\"precision\":\"%s\",\"cuda_graphs\":%b,\"batch\":%d,\"clients\":%d,"
                        + "\"height\":%d,\"width\":%d,\"error\":%s}",
                Json.quote(model), Json.quote(backend), precision.name().toLowerCase(Locale.ROOT), graphs, p.batch(),
                p.clients(), size.height(), size.width(), Json.quote(error));
    }
}
