package dev.mnv3.bench;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One forward pass of MobileNetV3 at 224x224 on the CPU paths. The reference path is slow by
 * design (seconds per image); select it explicitly, e.g. {@code -p path=reference -p batch=1}.
 * Run: {@code java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar ForwardBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ForwardBenchmark {
    @Param({"large", "small"})
    public String model;

    @Param({"1", "8", "32"})
    public int batch;

    @Param({"fast"})
    public String path;

    @Param({"2"})
    public int threads;

    private CompiledModel compiled;
    private Tensor input;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Graph g = Graph.of(MobileNetV3Config.named(model));
        Backend b = Backends.named(path.equals("reference") ? "cpu-reference" : "cpu");
        compiled = b.compile(g, RandomWeights.generate(g, 1), CompileOptions.fromSystemProperties().withThreads(threads));
        input = RandomWeights.input(batch, 224, 224, 2);
    }

    @Benchmark
    public Tensor forward() {
        return compiled.run(input);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        compiled.close();
    }
}
