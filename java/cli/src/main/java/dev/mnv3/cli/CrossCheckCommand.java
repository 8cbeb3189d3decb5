package dev.mnv3.cli;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.CrossCheck;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.ReferenceBackend;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "crosscheck", mixinStandardHelpOptions = true, description = {
        "Compare a backend with the CPU reference, node by node.",
        "Runs both on the same weights and input and prints per node: shape, max abs error, relative",
        "L2 error, pass/fail against the tolerance of the precision. Exits 1 when any node fails."})
final class CrossCheckCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    BackendOptions backend;

    @Option(names = "--weights", paramLabel = "W.safetensors", description = "Weights (default: seeded random weights).")
    Path weights;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "2", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Mixin
    SizeOption size;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the random weights and input (default: ${DEFAULT-VALUE}).")
    long seed;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Graph graph = Graph.of(weights != null ? model.configFor(weights) : model.config());
        Tensor input = size.randomInput(graph, batch, seed + 1);
        Weights w = weights != null ? Weights.load(weights, graph) : RandomWeights.generate(graph, seed);
        Backend candidate = backend.backend != null ? backend.resolve() : bestNonReference();
        double tolerance = backend.options().precision().tolerance();
        out.printf("%s: %s vs %s, batch %d at %dx%d, %s%n%n", graph.config().describe(), candidate.name(),
                ReferenceBackend.NAME, batch, size.height(), size.width(), backend.options().precision());
        CrossCheck.Report report;
        try (CompiledModel c = candidate.compile(graph, w, backend.options());
             CompiledModel r = new ReferenceBackend().compile(graph, w)) {
            report = CrossCheck.compare(c, r, input, tolerance);
        }
        out.println(report.table());
        return report.passed() ? 0 : 1;
    }

    private static Backend bestNonReference() {
        for (Backend b : Backends.all()) {
            if (!b.name().equals(ReferenceBackend.NAME) && b.unavailableReason() == null) return b;
        }
        throw new Main.UserError("no backend other than " + ReferenceBackend.NAME + " can run here: nothing to cross-check");
    }
}
