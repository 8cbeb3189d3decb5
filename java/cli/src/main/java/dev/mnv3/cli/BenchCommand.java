package dev.mnv3.cli;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.bench.Throughput;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "bench", mixinStandardHelpOptions = true, description = {
        "Measure throughput and latency of one backend on random weights and inputs.",
        "Warms up, then runs the same batch repeatedly and prints images per second and the",
        "per-batch latency p50/p99; --json prints one JSON object on stdout instead."})
final class BenchCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    BackendOptions backend;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "1", description = "Images per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Mixin
    SizeOption size;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "5", description = "Timed duration (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--warmup", paramLabel = "S", defaultValue = "2", description = "Untimed warm-up (default: ${DEFAULT-VALUE}).")
    double warmup;

    @Option(names = "--json", description = "Print one JSON object with images_per_second, p50_ms, p99_ms and the settings.")
    boolean json;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (!(seconds > 0) || warmup < 0) throw new Main.UserError("--seconds must be > 0 and --warmup >= 0");
        Graph graph = Graph.of(model.config());
        Tensor input = size.randomInput(graph, batch, 2);
        Backend b = backend.resolve();
        Throughput.Result r;
        try (CompiledModel m = b.compile(graph, RandomWeights.generate(graph, 1), backend.options())) {
            Progress progress = new Progress(spec.commandLine().getErr(), "bench " + graph.config().name() + " batch " + batch);
            r = Throughput.measure(m, input, warmup, seconds, progress::update);
            progress.done();
        }
        int threads = backend.options().resolvedThreads();
        if (json) {
            out.println(r.toJson(graph.config().name(), b.name(), threads, size.height(), size.width()));
        } else {
            out.printf("%s on %s, batch %d at %s, %d threads: %.1f images/s, latency per batch p50 %.2f ms, p99 %.2f ms (%d runs)%n",
                    graph.config().describe(), b.name(), batch, size, threads, r.imagesPerSecond(), r.p50Ms(), r.p99Ms(), r.runs());
        }
        return 0;
    }
}
