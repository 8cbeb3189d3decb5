package dev.mnv3.spark.cli;

import dev.mnv3.cli.BackendOptions;
import dev.mnv3.cli.CheckpointOptions;
import dev.mnv3.cli.ImageBatchLimits;
import dev.mnv3.cli.ImageInputs;
import dev.mnv3.cli.Main;
import dev.mnv3.cli.ModelOptions;
import dev.mnv3.cli.PreprocessingOptions;
import dev.mnv3.cli.Progress;
import dev.mnv3.cli.Subcommand;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.weights.Checkpoint;
import dev.mnv3.spark.BatchJob;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * mnv3 batch: classify (and embed) a collection of images as a Spark job. It lives in the spark
 * module, beside Spark's jars, and joins {@link Main}'s commands as a {@link Subcommand} where this
 * module's jar is on the class path.
 */
@Command(name = "batch", mixinStandardHelpOptions = true, description = {
        "Classify a collection of images as an Apache Spark job: Spark's embedded local mode by default (--master local[*]), "
                + "or a cluster through spark-submit (see docs/spark.md).",
        "--input is a directory (its JPEG, PNG, WebP, BMP and GIF files, subdirectories included, in name order), a quoted glob "
                + "('photos/**.jpg'), or an image file; repeat it for more. A URI (hdfs://, s3a://, file:) is listed the same way "
                + "through Hadoop's file systems (a directory's images, a glob's matches, a file), and its files are read by the executors.",
        "Executors decode and preprocess the images (resize --resize, center crop --crop, ImageNet mean and std, as classify "
                + "does), a partition's images in batches, and run one compiled model per executor JVM, with --threads threads "
                + "(default: the executor's cores, spark.executor.cores or N of local[N]).",
        "--output OUT is a new directory of Spark part files, one row per image, in order:",
        "  file      the image's absolute path (or URI)",
        "  top       the --top classes: [{class, label, probability}, ...], most probable first",
        "  logits    with --logits: the classifier's outputs",
        "  features  with --features: the pooled features (the global average pool: 960 values for Large, 576 for Small)",
        "  error     why the image has no results (missing, does not decode, damaged); null otherwise",
        "Every image gives one row, so the rows out equal the files in; stdout gets one line with the counts and images/s "
                + "(decoding included). CSV holds top, logits and features as JSON text.",
        ""})
public final class BatchCommand implements Subcommand {
    /** Found through {@link Subcommand}'s services entry of this module. */
    public BatchCommand() {
    }

    @Mixin
    ModelOptions model;

    @Mixin
    BackendOptions backend;

    @Option(names = "--weights", required = true, paramLabel = "W",
            description = "Trained weights (shipped to each executor once): " + CheckpointOptions.WEIGHTS_FILES)
    Path weights;

    @Mixin
    CheckpointOptions checkpoint;

    @Option(names = "--input", required = true, paramLabel = "DIR|GLOB|FILE|URI", description = "The images (repeatable).")
    List<String> inputs;

    @Option(names = "--output", required = true, paramLabel = "OUT", description = "A directory that does not exist yet.")
    String output;

    @Option(names = "--format", paramLabel = "parquet|jsonl|csv", defaultValue = "parquet",
            description = "Output format (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--top", paramLabel = "K", defaultValue = "5",
            description = "Classes per image in the top column, from 1 to the model's classes (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--logits", description = "Add the logits column.")
    boolean logits;

    @Option(names = "--features", description = "Add the features column (pooled features, an embedding).")
    boolean features;

    @Mixin
    PreprocessingOptions preprocessingOptions;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "8", description = "Images per model run (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--decode-threads", paramLabel = "D", defaultValue = "1",
            description = "Threads decoding each task's images while its model runs (default: ${DEFAULT-VALUE}; Spark runs a task per core).")
    int decodeThreads;

    @Option(names = "--partition-images", paramLabel = "P", defaultValue = "64",
            description = "Images per Spark partition (task) for --input files, about: the partitions are rounded up to a "
                    + "multiple of the task slots so that no slot idles in the last wave (default: ${DEFAULT-VALUE}).")
    int partitionImages;

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master (default: what spark-submit set, else local[*]: all processors of this machine). "
                    + "With a cluster's master (spark://HOST:PORT, ...) batch adds its own jar to spark.jars; see docs/spark.md.")
    String master;

    @Option(names = "--no-progress", description = "No progress bar on stderr.")
    boolean noProgress;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ImageBatchLimits.checkBatch(batch);
        if (top < 1) throw new Main.UserError("--top must be from 1 to the model's classes, got " + top);
        if (partitionImages < 1) throw new Main.UserError("--partition-images must be >= 1, got " + partitionImages);
        ImageBatchLimits.checkDecodeThreads(decodeThreads);
        BatchJob.Format fmt = switch (format.toLowerCase(Locale.ROOT)) {
            case "parquet" -> BatchJob.Format.PARQUET;
            case "jsonl", "json" -> BatchJob.Format.JSONL;
            case "csv" -> BatchJob.Format.CSV;
            default -> throw new Main.UserError("--format must be parquet, jsonl or csv, got '" + format + "'");
        };
        Preprocessing prep = preprocessingOptions.preprocessing();
        if (!BatchJob.isUri(output) && Files.exists(Path.of(output), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new Main.UserError("--output " + output + " exists: batch writes a new directory (remove it or name another)");
        }
        List<String> uris = inputs.stream().filter(BatchJob::isUri).toList();
        List<String> local = inputs.stream().filter(i -> !BatchJob.isUri(i)).toList();
        List<String> files = (local.isEmpty() ? List.<Path>of() : ImageInputs.expand(local)).stream()
                .map(p -> p.toAbsolutePath().normalize().toString()).toList();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        MobileNetV3Config config;
        try (Checkpoint c = checkpoint.open(weights, err)) {
            config = model.configFor(c);
            c.weightsFor(Graph.of(config)); // here, so that a file that does not fit the model is one line before Spark starts
        }
        int classes = Graph.of(config).numClasses();
        if (top > classes) throw new Main.UserError("--top must be from 1 to the model's " + classes + " classes, got " + top);
        BatchJob job = new BatchJob(config, weights, backend.resolve().name(), backend.options(), prep, batch, decodeThreads, top,
                logits, features).checkpointKey(checkpoint.key());
        BatchJob.Summary s;
        try {
            s = job.run(master, files, uris, name -> ImageInputs.isImageName(Path.of(name)), partitionImages, output, fmt,
                    noProgress ? null : (fraction, detail) -> progress(err).update(fraction, detail));
        } catch (BatchJob.BatchException e) {
            if (progress != null) progress.done();
            throw new Main.UserError(e.getMessage(), e);
        }
        if (progress != null) progress.done();
        out.printf(Locale.ROOT, "wrote %s (%s): %,d images, %,d with an error, in %.2f s, %.1f images/s (decoding included; Spark %s, %s, "
                        + "batch %d; the job alone %.2f s)%n", output, fmt.name().toLowerCase(Locale.ROOT), s.images(), s.errors(),
                s.seconds(), s.images() / s.seconds(), s.master(), job.backend(), batch, s.jobSeconds());
        out.flush();
        return 0;
    }

    private Progress progress;

    private Progress progress(PrintWriter err) {
        if (progress == null) progress = new Progress(err, "batch");
        return progress;
    }
}
