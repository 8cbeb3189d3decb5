package dev.mnv3.cli;

import dev.mnv3.core.Json;
import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.bench.Throughput;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.cpu.ReferenceBackend;
import dev.mnv3.cpu.fast.FastBackend;
import dev.mnv3.cuda.CudaBackend;
import dev.mnv3.cuda.CudaModel;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "bench", mixinStandardHelpOptions = true, description = {
        "Measure throughput and latency of one backend on random weights and inputs.",
        "Warms up, then runs the same batch repeatedly and prints images per second and the per-batch latency p50/p99; "
                + "--json prints one JSON object per batch size on stdout instead.",
        "Several batch sizes (--batch 1,8,64) are measured in turn on one compiled model; one that fails is reported "
                + "(with --json as an object with \"error\") and the others still run, the exit status is then 1."})
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

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "5", description = "Timed duration per batch size (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--warmup", paramLabel = "S", defaultValue = "2", description = "Untimed warm-up per batch size (default: ${DEFAULT-VALUE}).")
    double warmup;

    @Option(names = "--clients", paramLabel = "C", defaultValue = "1",
            description = "Threads calling the model at once, as a service's request threads would; images/s counts them all "
                    + "(the CUDA backend runs each on its own stream, up to -Dmnv3.cuda.streams, default 4) (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--show-kernels", description = "cuda: print to stderr, after the runs, which kernel ran each conv that "
            + "ours and cuDNN can both run, with the times measured when the plan was built.")
    boolean showKernels;

    @Option(names = "--json", description = "Print one JSON object per batch size: images_per_second, p50_ms, p99_ms and the "
            + "settings (model, backend, precision, cuda_graphs: whether CUDA graphs were replayed, vector_bits: the CPU "
            + "kernels' vector width, 0 for plain loops, null on the GPU, batch, ...); a batch size that failed gives "
            + "{..., \"batch\": N, \"error\": \"why\"}.")
    boolean json;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (!(seconds > 0) || warmup < 0) throw new Main.UserError("--seconds must be > 0 and --warmup >= 0");
        if (clients < 1 || clients > 256) throw new Main.UserError("--clients must be from 1 to 256, got " + clients);
        Graph graph = Graph.of(model.config());
        for (int n : batches) size.check(graph, n);
        Backend b = backend.resolve();
        CompileOptions options = backend.options();
        int threads = options.resolvedThreads();
        String name = graph.config().name();
        // what was asked for, reported on the error lines of a model that did not compile
        Precision precision = options.precision();
        boolean graphs = options.cudaGraphs() && CudaBackend.NAME.equals(b.name());
        List<String> failures = new ArrayList<>();
        RuntimeException first = null;
        CompiledModel m;
        try {
            m = b.compile(graph, RandomWeights.generate(graph, 1), options);
        } catch (RuntimeException e) {
            if (json) for (int n : batches) out.println(errorJson(name, b.name(), precision, graphs, n, Main.describe(e)));
            throw e;
        }
        try (m) {
            if (m instanceof CudaModel c) { // what the model does: debug mode and -Dmnv3.cuda.graphs=false turn graphs off
                precision = c.precision();
                graphs = c.cudaGraphs();
            } else {
                graphs = false;
            }
            for (int n : batches) {
                Throughput.Result r;
                try {
                    Progress progress = new Progress(spec.commandLine().getErr(), "bench " + name + " batch " + n);
                    r = Throughput.measure(m, size.randomInput(graph, n, 2), clients, warmup, seconds, progress::update);
                    progress.done();
                } catch (RuntimeException e) {
                    if (json) out.println(errorJson(name, b.name(), precision, graphs, n, Main.describe(e)));
                    out.flush();
                    if (batches.size() == 1) throw e;
                    if (first == null) first = e;
                    failures.add("batch " + n + ": " + Main.describe(e));
                    continue;
                }
                if (json) {
                    out.println(r.toJson(name, b.name(), precision, graphs, vectorBits(b), threads, size.height(), size.width()));
                } else {
                    out.printf("%s on %s (%s%s), batch %d at %s, %d threads%s: %.1f images/s, latency per batch p50 %.2f ms, "
                                    + "p99 %.2f ms (%d runs)%n",
                            graph.config().describe(), b.name(), precision.name().toLowerCase(Locale.ROOT),
                            graphs ? ", CUDA graphs" : "", n, size, threads, clients > 1 ? ", " + clients + " clients" : "",
                            r.imagesPerSecond(), r.p50Ms(), r.p99Ms(), r.runs());
                }
                out.flush();
            }
            if (showKernels && m instanceof CudaModel c) printKernelChoices(c);
        }
        if (!failures.isEmpty()) {
            throw new Main.UserError(failures.size() + " of " + batches.size() + " batch sizes failed: "
                    + String.join("; ", failures), first);
        }
        return 0;
    }

    /** The vector width of the CPU kernels that ran: the fast backend's, 0 for the reference's plain loops, null on the GPU. */
    static Integer vectorBits(Backend b) {
        if (b instanceof FastBackend f) return f.vectorBits();
        return b.name().equals(ReferenceBackend.NAME) ? 0 : null;
    }

    private void printKernelChoices(CudaModel c) {
        PrintWriter err = spec.commandLine().getErr();
        List<String> choices = c.kernelChoices();
        err.println("kernel choices, ours or cuDNN, timed when each plan was built: " + (choices.isEmpty() ? "none" : ""));
        choices.forEach(line -> err.println("  " + line));
        err.flush();
    }

    private String errorJson(String model, String backend, Precision precision, boolean graphs, int batch, String error) {
        return String.format(Locale.ROOT,
                "{\"model\":%s,\"backend\":%s,\"precision\":\"%s\",\"cuda_graphs\":%b,\"batch\":%d,\"height\":%d,\"width\":%d,"
                        + "\"error\":%s}",
                Json.quote(model), Json.quote(backend), precision.name().toLowerCase(Locale.ROOT), graphs, batch, size.height(),
                size.width(), Json.quote(error));
    }
}
