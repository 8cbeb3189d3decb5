package dev.mnv3.cli;

import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
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

    @Option(names = "--output", required = true, paramLabel = "Y.safetensors", description = "Where to write the results: "
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
            x = readInput(input);
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

    /** The file's only tensor, or the one named "input". */
    static Tensor readInput(Path file) throws java.io.IOException {
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
            return st.readTensor(name);
        }
    }
}
