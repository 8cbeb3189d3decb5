package dev.mnv3.bench;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.image.PreprocessingStage;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Where classify's CPU time goes, per image: decoding and preprocessing alone (the stage with no
 * model), inference alone (the same batches of random input), and both through the pipeline, in
 * CPU milliseconds of the whole process and in images/s, in one JVM, each measured in turn:
 * {@code PipelineCost DIR COUNT large|small BATCH THREADS DECODE_THREADS ROUNDS}.
 * On a machine shared with other work the CPU times are the steadier figures.
 */
public final class PipelineCost {
    private PipelineCost() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int count = Integer.parseInt(args[1]), batch = Integer.parseInt(args[3]), threads = Integer.parseInt(args[4]);
        int decoders = Integer.parseInt(args[5]), rounds = Integer.parseInt(args[6]);
        List<ImageSource> images;
        try (Stream<Path> s = Files.list(dir)) {
            images = s.filter(p -> p.toString().endsWith(".jpg")).sorted().limit(count).map(ImageSource::of).toList();
        }
        Graph g = Graph.of(MobileNetV3Config.named(args[2]));
        try (CompiledModel m = Backends.named("cpu").compile(g, RandomWeights.generate(g, 1), CompileOptions.defaults()
                .withThreads(threads));
             PreprocessingStage stage = new PreprocessingStage(Preprocessing.imagenet(), decoders)) {
            Tensor input = RandomWeights.input(batch, 224, 224, 1);
            System.out.printf(Locale.ROOT, "%s, %d images, batch %d, %d model threads, %d decode threads%n", args[2], images.size(),
                    batch, threads, stage.threads());
            for (int round = 0; round <= rounds; round++) { // round 0 warms up
                double[] decode = measure(images.size(), () -> drain(stage.batches(images, batch, PreprocessingStage.Form.PREPROCESSED), null));
                double[] infer = measure(images.size(), () -> {
                    for (int i = 0; i < images.size() / batch; i++) m.run(input);
                });
                double[] pipeline = measure(images.size(), () -> drain(stage.batches(images, batch,
                        PreprocessingStage.Form.PREPROCESSED), m));
                if (round == 0) continue;
                System.out.printf(Locale.ROOT, "round %d: decode+preprocess %.2f cpu-ms/image (%.1f images/s) | inference %.2f "
                                + "cpu-ms/image (%.1f images/s) | pipeline %.2f cpu-ms/image (%.1f images/s)%n", round, decode[0],
                        decode[1], infer[0], infer[1], pipeline[0], pipeline[1]);
            }
        }
    }

    private static void drain(Iterator<PreprocessingStage.Batch> batches, CompiledModel m) {
        while (batches.hasNext()) {
            PreprocessingStage.Batch b = batches.next();
            if (m != null) b.run(m);
        }
    }

    /** CPU milliseconds of the process per image, and images per second of wall time. */
    private static double[] measure(int images, Runnable work) {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long cpu = os.getProcessCpuTime(), start = System.nanoTime();
        work.run();
        long wall = System.nanoTime() - start;
        return new double[] {(os.getProcessCpuTime() - cpu) / 1e6 / images, images / (wall / 1e9)};
    }
}
