package dev.mnv3.cli;

import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.graph.Shape;
import dev.mnv3.cuda.CudaBackend;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "info", mixinStandardHelpOptions = true, description = {
        "Print the network layer by layer: op, shapes, exp size, parameters and multiply-adds.",
        "--devices lists the GPUs the CUDA backend sees instead."})
final class InfoCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    SizeOption size;

    @Option(names = "--devices", description = "Say which NVIDIA driver is here (release, the CUDA version it supports), "
            + "list the GPUs it sees (ordinal for --device, name, compute capability, SMs, memory) and whether cuDNN is found; "
            + "exit 1 when the CUDA backend cannot run (no driver, a driver too old for the kernels, no usable GPU).")
    boolean devices;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (devices) return listDevices(out);
        Graph g = Graph.of(model.config());
        List<Shape> shapes = g.inferShapes(size.height(), size.width());
        long macs = g.macs(size.height(), size.width()); // before printing: a network too large to count fails here
        String fmt = "%-14s %-22s %-12s %-12s %5s %10s %14s%n";
        out.printf("%s at %dx%d%n%n", g.config().describe(), size.height(), size.width());
        out.printf(fmt, "name", "op", "in", "out", "exp", "params", "MACs");
        for (int i = 0; i < g.nodes().size(); i++) {
            Node n = g.nodes().get(i);
            String exp = n instanceof Bottleneck b ? Integer.toString(b.expSize()) : "";
            out.printf(fmt, n.name(), n.op(), shapes.get(i), shapes.get(i + 1), exp, group(n.params()),
                    group(n.macs(shapes.get(i))));
        }
        out.printf("%ntotal parameters: %s%n", group(g.params()));
        out.printf("total multiply-adds: %s (%.1fM)%n", group(macs), macs / 1e6);
        out.printf("feature levels (stride: node, channels): ");
        StringBuilder sb = new StringBuilder();
        for (FeatureLevel l : g.featureLevels()) {
            if (!sb.isEmpty()) sb.append("; ");
            sb.append(l.stride()).append(": ").append(l.node()).append(", ").append(l.channels());
        }
        out.println(sb);
        out.printf("minimum input: %dx%d%n", g.minInputSize(), g.minInputSize());
        return 0;
    }

    private static int listDevices(PrintWriter out) {
        try {
            CudaBackend.describeDevices(out::println); // what it learned is printed before it throws why it cannot run
        } finally {
            out.flush();
        }
        return 0;
    }

    static String group(long v) {
        return String.format("%,d", v);
    }
}
