package dev.mnv3.bench;

import dev.mnv3.api.ImageBatches;
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
 * {@code PipelineCost DIR COUNT large|small BATCH THREADS DECODE_THREADS ROUNDS [JPEG_DECODERS]}.
 * JPEG_DECODERS (e.g. {@code imageio,turbo}) measures decoding and the pipeline once per JPEG
 * decoder in each round, in turn ({@code -Dmnv3.jpeg}, read at every decode), and ends with their
 * ratios: paired in time, so that a machine shared with other work loads both alike. On such a
 * machine the CPU times are the steadier figures.
 */
public final class PipelineCost {
    private PipelineCost() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int count = Integer.parseInt(args[1]), batch = Integer.parseInt(args[3]), threads = Integer.parseInt(args[4]);
        int decoders = Integer.parseInt(args[5]), rounds = Integer.parseInt(args[6]);
        List<String> jpeg = args.length > 7 ? List.of(args[7].split(",")) : List.of(System.getProperty("mnv3.jpeg", "auto"));
        double[][] decodeCpu = new double[jpeg.size()][rounds], pipelineCpu = new double[jpeg.size()][rounds];
        List<ImageSource> images;
        try (Stream<Path> s = Files.list(dir)) {
            images = s.filter(p -> p.toString().endsWith(".jpg")).sorted().limit(count).map(ImageSource::of).toList();
        }
        Graph g = Graph.of(MobileNetV3Config.named(args[2]));
        try (CompiledModel m = Backends.named("cpu").compile(g, RandomWeights.generate(g, 1), CompileOptions.fromSystemProperties()
                .withThreads(threads));
             PreprocessingStage stage = new PreprocessingStage(Preprocessing.imagenet(), decoders)) {
            Tensor input = RandomWeights.input(batch, 224, 224, 1);
            System.out.printf(Locale.ROOT, "%s, %d images, batch %d, %d model threads, %d decode threads%n", args[2], images.size(),
                    batch, threads, stage.threads());
            for (int round = 0; round <= rounds; round++) { // round 0 warms up
                double[] infer = measure(images.size(), () -> {
                    for (int i = 0; i < images.size() / batch; i++) m.run(input);
                });
                for (int d = 0; d < jpeg.size(); d++) {
                    System.setProperty("mnv3.jpeg", jpeg.get(d));
                    double[] decode = measure(images.size(), () -> drain(stage.batches(images, batch,
                            PreprocessingStage.Form.PREPROCESSED), null));
                    double[] pipeline = measure(images.size(), () -> drain(stage.batches(images, batch,
                            PreprocessingStage.Form.PREPROCESSED), m));
                    if (round == 0) continue;
                    decodeCpu[d][round - 1] = decode[0];
                    pipelineCpu[d][round - 1] = pipeline[0];
                    System.out.printf(Locale.ROOT, "round %d, jpeg %s: decode+preprocess %.2f cpu-ms/image (%.1f images/s) | "
                                    + "inference %.2f cpu-ms/image (%.1f images/s) | pipeline %.2f cpu-ms/image (%.1f images/s)%n",
                            round, jpeg.get(d), decode[0], decode[1], infer[0], infer[1], pipeline[0], pipeline[1]);
                }
            }
        }
        for (int d = 1; d < jpeg.size(); d++) {
            System.out.printf(Locale.ROOT, "jpeg %s / %s, cpu-ms per image (median of the rounds' ratios): decode+preprocess %.2f, "
                    + "pipeline %.2f%n", jpeg.get(d), jpeg.get(0), medianRatio(decodeCpu[d], decodeCpu[0]),
                    medianRatio(pipelineCpu[d], pipelineCpu[0]));
        }
    }

    private static double medianRatio(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < r.length; i++) r[i] = a[i] / b[i];
        java.util.Arrays.sort(r);
        return r.length % 2 == 1 ? r[r.length / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
    }

    private static void drain(Iterator<PreprocessingStage.Batch> batches, CompiledModel m) {
        while (batches.hasNext()) {
            PreprocessingStage.Batch b = batches.next();
            if (m != null) ImageBatches.run(b, m);
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
