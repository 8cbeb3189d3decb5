package dev.mnv3.bench;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Weights;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * A fresh JVM's weights load, compile and first runs of Small on the cpu backend, each timed:
 * {@code FirstBatches WEIGHTS RUNS BATCH}. A run marked * ran the vector kernels
 * ({@code CompiledModel.warmedUp}); before, the model ran plain loops while C2 compiled them.
 */
public final class FirstBatches {
    private FirstBatches() {
    }

    public static void main(String[] a) throws Exception {
        int batches = Integer.parseInt(a[1]), n = Integer.parseInt(a[2]);
        double up0 = ManagementFactory.getRuntimeMXBean().getUptime() / 1e3;
        long t0 = System.nanoTime();
        Graph g = Graph.of(MobileNetV3Config.small());
        Weights w = Weights.load(Path.of(a[0]), g);
        long t1 = System.nanoTime();
        CompiledModel m = Backends.named("cpu").compile(g, w, CompileOptions.fromSystemProperties());
        long t2 = System.nanoTime();
        float[] x = new float[n * 3 * 224 * 224];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        Tensor in = new Tensor(new int[] {n, 3, 224, 224}, x);
        StringBuilder sb = new StringBuilder();
        double total = 0;
        for (int b = 0; b < batches; b++) {
            long s = System.nanoTime();
            m.run(in);
            double ms = (System.nanoTime() - s) / 1e6;
            total += ms;
            sb.append(String.format(" %.0f%s", ms, m.warmedUp() ? "*" : ""));
        }
        System.out.printf("jvm-to-main %.2f s, load %.0f ms, compile %.0f ms, %d batches of %d: %.0f ms total; per batch ms:%s%n",
                up0, (t1 - t0) / 1e6, (t2 - t1) / 1e6, batches, n, total, sb);
        m.close();
    }
}
