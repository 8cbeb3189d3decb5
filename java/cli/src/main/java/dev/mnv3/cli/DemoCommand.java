package dev.mnv3.cli;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.CrossCheck;
import dev.mnv3.core.bench.Throughput;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.CpuInfo;
import dev.mnv3.cpu.ReferenceBackend;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "demo", mixinStandardHelpOptions = true, description = {
        "Run MobileNetV3 on the best backend here and check it against the CPU reference.",
        "Builds the network (Large by default) with seeded random weights, runs batches for a few",
        "seconds, prints the throughput, and compares every node with the CPU reference."})
final class DemoCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    BackendOptions backend;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "8", description = "Images per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Mixin
    SizeOption size;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "3", description = "How long to measure (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Durations.check("--seconds", seconds, false);
        PrintWriter out = spec.commandLine().getOut();
        Graph graph = Graph.of(model.config());
        Tensor input = size.randomInput(graph, batch, 2);
        Weights weights = RandomWeights.generate(graph, 1);
        Backend b = backend.resolve();
        out.printf("%s: %,d parameters, %.1fM multiply-adds per image at %dx%d%n", graph.config().describe(), graph.params(),
                graph.macs(size.height(), size.width()) / 1e6, size.height(), size.width());
        out.printf("backend: %s, batch %d%n", b.name(), batch);
        String kernels = b.kernelsDescription();
        if (kernels != null) out.printf("CPU: %s%nkernels: %s%n", CpuInfo.here().describe(), kernels);
        out.flush();
        try (CompiledModel m = b.compile(graph, weights, backend.options())) {
            Progress progress = new Progress(spec.commandLine().getErr(), "measuring");
            Throughput.Result r = Throughput.measure(m, input, Math.min(1.0, seconds / 3), seconds, progress::update);
            progress.done();
            out.printf("throughput: %.1f images/s (%d batches in %.2f s; per batch p50 %.2f ms, p99 %.2f ms)%n", r.imagesPerSecond(),
                    r.runs(), r.seconds(), r.p50Ms(), r.p99Ms());
            compareWithReference(out, graph, weights, m, input.slice(0, 1), backend.options().precision().tolerance());
        }
        return 0;
    }

    private static void compareWithReference(PrintWriter out, Graph graph, Weights weights, CompiledModel m, Tensor one,
                                             double tolerance) {
        if (m.backend().equals(ReferenceBackend.NAME)) {
            out.println("comparison: skipped, the CPU reference is the backend that ran");
            return;
        }
        try (CompiledModel ref = new ReferenceBackend().compile(graph, weights)) {
            CrossCheck.Report r = CrossCheck.compare(m, ref, one, tolerance);
            double worst = r.nodes().stream().mapToDouble(n -> n.diff().relL2()).max().orElse(0);
            out.printf("comparison with %s over %d nodes: worst rel L2 error %.2e (tolerance %.0e): %s%n", ReferenceBackend.NAME,
                    r.nodes().size(), worst, tolerance, r.passed() ? "PASS" : "FAIL");
            if (!r.passed()) out.println(r.table());
        }
    }
}
