package dev.mnv3.spark;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.image.Preprocessing;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * What {@code mnv3 batch} runs: a list of image files (and URIs read by Spark's binaryFile
 * source) through {@link ImageInference}, written as Parquet, JSON lines or CSV, one row per image.
 */
public final class BatchJob {
    public enum Format { PARQUET, JSONL, CSV }

    /** Where progress goes: the fraction of images done and a line of detail. */
    public interface ProgressSink {
        void update(double fraction, String detail);
    }

    /**
     * What a run did: images written (errors among them), seconds from the start of Spark to the
     * last file written, seconds of the job alone (Spark started, weights hashed), the master.
     */
    public record Summary(long images, long errors, double seconds, double jobSeconds, String master) {
    }

    private static final String LOG_CONFIG = "dev/mnv3/spark/log4j2-local.properties";

    private final ImageInference.Builder inference;
    private final String backend;

    public BatchJob(MobileNetV3Config config, Path weights, String backend, CompileOptions options, Preprocessing preprocessing,
                    int batch, int decodeThreads, int top, boolean logits, boolean features) {
        this.backend = backend;
        this.inference = ImageInference.builder(config, weights).backend(backend).options(options).preprocessing(preprocessing)
                .batch(batch).decodeThreads(decodeThreads).top(top).logits(logits).features(features);
    }

    public String backend() {
        return backend;
    }

    /** The entry of a PyTorch training checkpoint that holds the tensors (null: found as usual). */
    public BatchJob checkpointKey(String key) {
        inference.checkpointKey(key);
        return this;
    }

    /** Whether an --input or --output names a URI (hdfs://..., file:...) rather than a local path. */
    public static boolean isUri(String s) {
        int colon = s.indexOf(':');
        return colon > 1 && s.startsWith("//", colon + 1) || s.startsWith("file:");
    }

    /**
     * Partitions of about {@code partitionImages}, their number rounded up to a multiple of the
     * task slots so that the last wave of tasks keeps every slot busy (5 tasks on 2 slots would end
     * with one task running alone), and never more partitions than images.
     */
    static int slices(int images, int partitionImages, int slots) {
        long wanted = (images + (long) partitionImages - 1) / partitionImages;
        long waves = (wanted + slots - 1) / Math.max(1, slots);
        return (int) Math.max(1, Math.min(images, waves * Math.max(1, slots)));
    }

    /** A failure of the job, as one line for the user (what went wrong, and where). */
    public static final class BatchException extends RuntimeException {
        public BatchException(String message) {
            super(message);
        }

        BatchException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Runs the job: {@code master} null means spark-submit's, else local[*]. {@code files} are
     * split into partitions of about {@code partitionImages}; {@code uris} are listed here, on the
     * driver, through Hadoop's file systems: a directory's files whose names {@code imageName}
     * accepts (as for a local directory: hidden names and empty files included, each a row), a
     * glob's matches, a file as it is. The output, inputs and master are checked before any task
     * runs; a job that fails or is stopped leaves no output directory. {@code progress} may be null.
     */
    public Summary run(String master, List<String> files, List<String> uris, Predicate<String> imageName, int partitionImages,
                       String output, Format format, ProgressSink progress) throws IOException {
        long start = System.nanoTime();
        boolean ours = SparkSession.getDefaultSession().isEmpty(); // a session the caller made stays theirs
        String url = master != null ? master : System.getProperty("spark.master", "local[*]");
        SparkSetup.checkReachable(url);
        SparkSession.Builder b = SparkSession.builder().appName("mnv3 batch").master(url);
        if (ours) {
            SparkSetup.settings(url).forEach(b::config);
        }
        if (System.getProperty("spark.master") == null && System.getProperty("log4j2.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", LOG_CONFIG); // Spark started here: its INFO lines would bury ours
        }
        SparkSession spark = b.getOrCreate();
        try {
            Configuration hadoop = spark.sparkContext().hadoopConfiguration();
            OutputDir out = OutputDir.claim(output, hadoop);
            List<String> all = new ArrayList<>(files);
            for (String uri : uris) all.addAll(list(uri, imageName, hadoop));
            if (all.isEmpty()) throw new BatchException("no images in " + String.join(", ", uris));
            if (!SparkSetup.isLocal(spark.sparkContext().master())) SparkSetup.checkExecutorJava(spark);
            ImageInference inf = inference.build();
            long jobStart = System.nanoTime();
            StructType fileSchema = new StructType().add("file", DataTypes.StringType, false);
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            int slices = slices(all.size(), partitionImages, sc.defaultParallelism());
            List<Row> names = new ArrayList<>(all.size());
            for (String f : all) names.add(RowFactory.create(f));
            Dataset<Row> rows = inf.onPaths(spark.createDataFrame(sc.parallelize(names, slices), fileSchema), "file");
            TaskProgress listener = progress == null ? null : new TaskProgress(inf.imagesAccumulatorId(), all.size(), progress);
            if (listener != null) spark.sparkContext().addSparkListener(listener);
            try {
                out.write(() -> write(rows, output, format));
            } catch (Exception e) { // SparkException is checked, and thrown from Scala undeclared
                throw new BatchException(SparkSetup.describe(e), e);
            } finally {
                if (listener != null) spark.sparkContext().removeSparkListener(listener);
            }
            long end = System.nanoTime();
            return new Summary(inf.imagesDone(), inf.errors(), (end - start) / 1e9, (end - jobStart) / 1e9, spark.sparkContext().master());
        } finally {
            if (ours) spark.stop();
        }
    }

    /** The files an --input URI names, in name order: see {@link #run}. */
    static List<String> list(String uri, Predicate<String> imageName, Configuration hadoop) throws IOException {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(uri);
        FileSystem fs;
        FileStatus[] matched;
        try {
            fs = p.getFileSystem(hadoop);
            matched = fs.globStatus(p);
        } catch (IOException | RuntimeException e) {
            throw new BatchException("--input " + uri + ": " + SparkSetup.firstLine(e));
        }
        if (matched == null || matched.length == 0) {
            throw new BatchException("--input " + uri + (p.toString().matches(".*[*?\\[{].*") ? ": no files match" : ": no such file or directory"));
        }
        List<String> files = new ArrayList<>();
        for (FileStatus m : matched) {
            if (!m.isDirectory()) {
                files.add(m.getPath().toString());
                continue;
            }
            int before = files.size();
            for (RemoteIterator<LocatedFileStatus> it = fs.listFiles(m.getPath(), true); it.hasNext(); ) {
                LocatedFileStatus f = it.next();
                if (imageName.test(f.getPath().getName())) files.add(f.getPath().toString());
            }
            if (files.size() == before) throw new BatchException("no JPEG, PNG, BMP or GIF files in directory " + m.getPath());
            files.subList(before, files.size()).sort(null);
        }
        return files;
    }

    private static void write(Dataset<Row> rows, String output, Format format) {
        switch (format) {
            case PARQUET -> rows.write().parquet(output);
            case JSONL -> rows.write().json(output); // one JSON object per line; null columns (error when there is none) left out
            case CSV -> {
                // RFC 4180: a quote inside a field is doubled (Spark's default escapes it with a backslash, which csv readers split on)
                Dataset<Row> flat = rows;
                for (String c : List.of(ResultColumns.TOP, ResultColumns.LOGITS, ResultColumns.FEATURES)) {
                    if (List.of(rows.columns()).contains(c)) flat = flat.withColumn(c, functions.to_json(new Column(c)));
                }
                flat.write().option("header", "true").option("escape", "\"").csv(output);
            }
        }
    }

    /** Counts the images of each finished task (the images accumulator's update) into the progress bar. */
    private static final class TaskProgress extends SparkListener {
        private final long accumulator, total;
        private final ProgressSink sink;
        private final long start = System.nanoTime();
        private long done;

        TaskProgress(long accumulator, long total, ProgressSink sink) {
            this.accumulator = accumulator;
            this.total = total;
            this.sink = sink;
        }

        @Override
        public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
            if (end.taskInfo() == null) return;
            scala.jdk.javaapi.CollectionConverters.asJava(end.taskInfo().accumulables()).stream()
                    .filter(a -> a.id() == accumulator && a.update().isDefined())
                    .forEach(a -> done += ((Number) a.update().get()).longValue());
            double seconds = (System.nanoTime() - start) / 1e9;
            sink.update(Math.min(1.0, (double) done / total), String.format(Locale.ROOT, "%,d/%,d images, %.1f images/s", done, total,
                    done / seconds));
        }
    }

}
