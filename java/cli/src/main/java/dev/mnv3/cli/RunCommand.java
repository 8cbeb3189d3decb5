package dev.mnv3.cli;

import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Checkpoint;
import dev.mnv3.core.weights.SafeTensors;
import dev.mnv3.core.weights.SafeTensorsWriter;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.core.io.OutputFile;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "run", mixinStandardHelpOptions = true, description = {
        "Run a batch from a safetensors file and write the logits to another.",
        "The input file holds one F32 tensor [N,3,H,W] (if several, the one named 'input'). The output holds",
        "'logits' [N,K] F32, plus with --features one tensor per feature level named strideS (S = 2,4,8,16,32)."})
final class RunCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    BackendOptions backend;

    @Option(names = "--weights", required = true, paramLabel = "W", description = "Weights: " + CheckpointOptions.WEIGHTS_FILES)
    Path weights;

    @Mixin
    CheckpointOptions checkpoint;

    @Option(names = "--input", required = true, paramLabel = "X.safetensors", description = "The input batch.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "Y.safetensors", converter = OutputFilePath.class, description = "Where to write the results: "
            + "replaced atomically when complete; a symbolic link is written through; never a device, directory or an input "
            + "of this command.")
    Path output;

    @Option(names = "--features", description = "Also write the feature maps at strides 2/4/8/16/32.")
    boolean features;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        List<Path> inputs = model.file() != null ? List.of(weights, input, model.file()) : List.of(weights, input);
        OutputFile.check(output, inputs); // before the work: a bad --output should not cost a run
        PrintWriter err = spec.commandLine().getErr();
        Graph graph;
        Tensor x;
        Weights w;
        try (Checkpoint c = checkpoint.open(weights, err)) {
            graph = Graph.of(model.configFor(c));
            x = readInput(input, shape -> {
                graph.checkInput(shape);
                checkOutputSizes(graph, shape); // before reading it, and before the run: not after all the work
            });
            graph.checkInput(x.shape());
            w = c.weightsFor(graph);
        }
        NonFiniteValues nonFinite = new NonFiniteValues();
        if (!nonFinite.check(err, weights + " holds", w.asMap())) nonFinite.check(err, input + " holds", Map.of("input", x));
        Map<String, Tensor> out = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        try (CompiledModel m = backend.resolve().compile(graph, w, backend.options())) {
            if (features) {
                Map<String, Tensor> trace = m.trace(x);
                out.put("logits", trace.get(graph.outputNode()));
                for (FeatureLevel l : graph.featureLevels()) {
                    out.put("stride" + l.stride(), trace.get(l.node()));
                    meta.put("stride" + l.stride(), l.node());
                }
            } else {
                out.put("logits", m.run(x));
            }
            meta.put("model", graph.config().describe());
            meta.put("backend", m.backend());
        }
        nonFinite.check(err, "the results hold", out);
        SafeTensorsWriter.write(output, out, meta, inputs);
        spec.commandLine().getOut().printf("wrote %s: logits %s%s (%s)%n", output, out.get("logits").shapeString(),
                features ? " + " + (out.size() - 1) + " feature maps" : "", meta.get("backend"));
        return 0;
    }

    /** Refuses, before the run, an output tensor too large for the writer, which holds each tensor's bytes in one array. */
    private void checkOutputSizes(Graph graph, int[] input) {
        Map<String, Long> floats = new LinkedHashMap<>();
        floats.put("logits", (long) input[0] * graph.numClasses());
        if (features) {
            List<Shape> shapes = graph.inferShapes(input[2], input[3]);
            for (FeatureLevel l : graph.featureLevels()) {
                floats.put("stride" + l.stride(), input[0] * shapes.get(graph.nodes().indexOf(graph.node(l.node())) + 1).size());
            }
        }
        floats.forEach((name, n) -> {
            long bytes = MemoryBudget.floatBytes(n, name);
            if (bytes > MemoryBudget.MAX_ARRAY_LENGTH) {
                throw new Main.UserError("the output '" + name + "' of batch " + input[0] + " would be " + MemoryBudget.format(bytes)
                        + ", more than the 2 GiB one tensor may have in the file written here: run a smaller batch");
            }
        });
    }

    /** The file's only tensor, or the one named "input". */
    static Tensor readInput(Path file) throws java.io.IOException {
        return readInput(file, shape -> { });
    }

    /** The file's only tensor, or the one named "input", after {@code check} accepted its shape (rank 4, within int). */
    static Tensor readInput(Path file, java.util.function.Consumer<int[]> check) throws java.io.IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            String name;
            if (st.entries().size() == 1) {
                name = st.entries().keySet().iterator().next();
            } else if (st.contains("input")) {
                name = "input";
            } else {
                throw new Main.UserError(file + " holds " + st.entries().size() + " tensors and none is named 'input'");
            }
            if (!st.entry(name).dtype().isFloat()) {
                throw new Main.UserError(file + ": tensor '" + name + "' is " + st.entry(name).dtype() + ", expected F32");
            }
            long[] shape = st.entry(name).shape();
            if (shape.length == 4 && java.util.Arrays.stream(shape).allMatch(d -> d <= Integer.MAX_VALUE)) {
                check.accept(java.util.Arrays.stream(shape).mapToInt(d -> (int) d).toArray());
            }
            return st.readTensor(name);
        }
    }
}
