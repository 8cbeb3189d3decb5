package dev.mnv3.cli;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.CrossCheck;
import dev.mnv3.core.backend.CudnnMode;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.MemoryLimitException;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Checkpoint;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.ReferenceBackend;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "crosscheck", mixinStandardHelpOptions = true, description = {
        "Compare a backend with the CPU reference, node by node.",
        "Runs both on the same weights and input and prints per node: shape, max abs error, relative",
        "L2 error, pass/fail against the tolerance of the precision. Exits 1 when any node fails.",
        "--precision and --cudnn take comma-separated lists (e.g. --precision fp32,fp16 --cudnn auto,off):",
        "each combination is checked in turn against one reference run."})
final class CrossCheckCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    BackendOptions backend;

    @Option(names = "--weights", paramLabel = "W", description = "Weights (default: seeded random weights): " + CheckpointOptions.WEIGHTS_FILES)
    Path weights;

    @Mixin
    CheckpointOptions checkpoint;

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
        Graph graph;
        Weights w;
        if (weights == null) {
            graph = Graph.of(model.config());
            size.check(graph, batch);
            reserve(graph);
            w = RandomWeights.generate(graph, seed);
        } else {
            try (Checkpoint c = checkpoint.open(weights, spec.commandLine().getErr())) {
                graph = Graph.of(model.configFor(c));
                w = c.weightsFor(graph);
            }
        }
        if (weights != null) {
            size.check(graph, batch);
            reserve(graph);
        }
        Tensor input = size.randomInput(graph, batch, seed + 1);
        List<Precision> precisions = BenchPoints.precisions(backend.precision);
        List<CudnnMode> modes = BenchPoints.cudnn(backend.cudnn);
        Backend candidate = backend.backend != null ? backend.resolve() : bestNonReference();
        if (!candidate.kernelLibraryChoice()) modes = List.of(CudnnMode.AUTO);
        Map<String, Tensor> want = null; // the reference runs once, after the first candidate compiled
        boolean passed = true;
        for (Precision p : precisions) {
            for (CudnnMode mode : modes) {
                CrossCheck.Report report;
                String how;
                try (CompiledModel c = candidate.compile(graph, w, backend.options(p, mode))) {
                    if (want == null) want = referenceTrace(graph, w, input);
                    how = c.kernelChoice().isEmpty() ? "" : ", " + c.kernelChoice();
                    report = CrossCheck.compare(c, ReferenceBackend.NAME, want, input, p.tolerance());
                }
                out.printf("%s: %s vs %s, batch %d at %dx%d, %s%s%n%n", graph.config().describe(), candidate.name(),
                        ReferenceBackend.NAME, batch, size.height(), size.width(), p, how);
                out.println(report.table());
                out.println();
                out.flush();
                passed &= report.passed();
            }
        }
        return passed ? 0 : 1;
    }

    /**
     * Checks before any work that the run fits the heap: the weights held thrice (as given, folded for
     * the candidate, for the reference) and two traces of every node's output (the reference's and
     * the candidate's), so that a network or input too large is refused at once, not after minutes.
     */
    private void reserve(Graph graph) {
        String what = "crosscheck of " + graph.config().describe() + ", batch " + batch + " at " + size;
        try {
            long floats = Math.addExact(Math.multiplyExact(graph.params(), 3L),
                    Math.multiplyExact(Math.multiplyExact(graph.traceFloats(size.height(), size.width()), (long) batch), 2L));
            MemoryBudget.reserve(MemoryBudget.floatBytes(floats, what), what);
        } catch (ArithmeticException e) {
            throw new MemoryLimitException(what + " needs more than 2^63 bytes");
        }
    }

    private static Map<String, Tensor> referenceTrace(Graph graph, Weights w, Tensor input) {
        try (CompiledModel r = new ReferenceBackend().compile(graph, w)) {
            return r.trace(input);
        }
    }

    private static Backend bestNonReference() {
        for (Backend b : Backends.all()) {
            if (!b.name().equals(ReferenceBackend.NAME) && b.unavailableReason() == null) return b;
        }
        throw new Main.UserError("no backend other than " + ReferenceBackend.NAME + " can run here: nothing to cross-check");
    }
}
