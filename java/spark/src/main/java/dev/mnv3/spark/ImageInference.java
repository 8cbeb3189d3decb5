package dev.mnv3.spark;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.image.PreprocessingStage;
import dev.mnv3.core.weights.Checkpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

/**
 * MobileNetV3 over a Spark Dataset of images: adds the result columns ({@code top}, {@code logits},
 * {@code features}, {@code error}; see {@link ResultColumns}) to every row.
 *
 * <pre>{@code
 * ImageInference inference = ImageInference.builder(MobileNetV3Config.large(), Path.of("mobilenet_v3_large.pth"))
 *         .top(5).features(true).build();
 * Dataset<Row> out = inference.onBinaryFiles(spark.read().format("binaryFile").load("photos/"));
 * Dataset<Row> out2 = inference.onPaths(df, "path");            // a column of paths or URIs
 * Dataset<Row> out3 = inference.onBytes(df, "jpeg", "id");       // encoded images, named by another column
 * }</pre>
 *
 * Decoding and preprocessing run in the executors, a partition's rows in batches; each executor
 * JVM compiles the model once (keyed by the weights' SHA-256, the model, backend, precision and
 * device) and every task shares it. The weights (safetensors or a PyTorch checkpoint, read by
 * {@link Checkpoint}) go to the executors once, as a broadcast (on any master: a broadcast belongs to
 * the SparkContext, not to a session's isolated artifacts); the model runs
 * as the checkpoint was trained: in its layout, with that layout's BatchNorm eps unless the config
 * chose one. Without a thread count in its options the model uses {@code spark.executor.cores}
 * threads (local[N]: N), the task slots of an executor, not every processor of its host. On the
 * cuda backend each task runs on the GPU Spark assigned it.
 */
public final class ImageInference {
    private final MobileNetV3Config config;
    private final Path weights;
    private final String checkpointKey;
    private final String backend;
    private final CompileOptions options;
    private final Preprocessing preprocessing;
    private final int batch, decodeThreads;
    private final ResultColumns columns;
    private LongAccumulator images, errors;
    private SparkContext shippedTo;
    private Broadcast<byte[]> shipped;
    private String shippedDigest;

    private ImageInference(Builder b) throws IOException {
        if (!Files.isRegularFile(b.weights)) throw new java.nio.file.NoSuchFileException(b.weights.toString());
        try (Checkpoint checkpoint = Checkpoint.open(b.weights, b.checkpointKey)) {
            this.config = checkpoint.configFor(b.config);
        }
        Graph graph = Graph.of(config);
        graph.checkInput(new int[] {b.batch, Graph.INPUT_CHANNELS, b.preprocessing.crop(), b.preprocessing.crop()});
        Backend named = Backends.named(b.backend);
        String why = named.unavailableReason();
        if (why != null && !named.usesDevices()) throw new IllegalArgumentException("backend " + b.backend + ": " + why);
        this.weights = b.weights;
        this.checkpointKey = b.checkpointKey;
        this.backend = b.backend;
        this.options = b.options;
        this.preprocessing = b.preprocessing;
        this.batch = b.batch;
        this.decodeThreads = b.decodeThreads;
        this.columns = new ResultColumns(b.top, b.logits, b.features);
    }

    public static Builder builder(MobileNetV3Config config, Path weights) {
        return new Builder(config, weights);
    }

    /** Rows of Spark's {@code binaryFile} source ({@code path}, {@code content}, ...) with the result columns. */
    public Dataset<Row> onBinaryFiles(Dataset<Row> files) {
        return onBytes(files, "content", "path");
    }

    /** {@code rows} with the result columns, each row's image read from the path or URI in {@code pathColumn}. */
    public Dataset<Row> onPaths(Dataset<Row> rows, String pathColumn) {
        return apply(rows, ImageColumn.paths(index(rows, pathColumn)));
    }

    /** {@code rows} with the result columns, each row's image the encoded bytes in {@code bytesColumn}, named by {@code nameColumn}. */
    public Dataset<Row> onBytes(Dataset<Row> rows, String bytesColumn, String nameColumn) {
        return apply(rows, ImageColumn.bytes(index(rows, bytesColumn), index(rows, nameColumn)));
    }

    /** The schema of the rows a job gives for input rows of {@code input}. */
    public StructType resultSchema(StructType input) {
        return columns.appendTo(input);
    }

    /** The network as it runs: the builder's config in the checkpoint's layout, with that layout's eps unless one was chosen. */
    public MobileNetV3Config config() {
        return config;
    }

    /** Images run by jobs of this instance so far, on tasks that finished (an accumulator: counted when a task ends). */
    public long imagesDone() {
        return images == null ? 0 : images.value();
    }

    /** Images that got an error instead of results so far (counted as {@link #imagesDone}). */
    public long errors() {
        return errors == null ? 0 : errors.value();
    }

    /** The accumulator id of {@link #imagesDone}, for a SparkListener that follows a job's progress task by task. */
    long imagesAccumulatorId() {
        return images == null ? -1 : images.id();
    }

    private static int index(Dataset<Row> rows, String column) {
        if (!Arrays.asList(rows.schema().fieldNames()).contains(column)) {
            throw new IllegalArgumentException("no column '" + column + "' among " + Arrays.toString(rows.schema().fieldNames()));
        }
        return rows.schema().fieldIndex(column);
    }

    private Dataset<Row> apply(Dataset<Row> rows, ImageColumn input) {
        SparkContext sc = rows.sparkSession().sparkContext();
        if (!sc.equals(shippedTo)) { // the weights, accumulators and the broadcast belong to one context
            ship(sc);
            images = sc.longAccumulator("mnv3 images");
            errors = sc.longAccumulator("mnv3 errors");
            shippedTo = sc;
        }
        CompileOptions o = options.threads() > 0 ? options : options.withThreads(executorThreads(sc.getConf()));
        InferenceSpec spec = new InferenceSpec(config, weights.getFileName().toString(), shipped, checkpointKey, shippedDigest, backend, o,
                preprocessing, batch, decodeThreads, columns);
        return rows.mapPartitions(new PartitionInference(spec, input, images, errors), Encoders.row(resultSchema(rows.schema())));
    }

    /** The weights as a broadcast of this context, read once per context (executors fetch it once each). */
    private void ship(SparkContext sc) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(weights);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        shippedDigest = ExecutorModels.digest(bytes);
        shipped = JavaSparkContext.fromSparkContext(sc).broadcast(bytes);
    }

    /**
     * The model's threads when none were asked for: an executor's cores ({@code spark.executor.cores},
     * else N of local[N]), as many as Spark runs tasks at once there; 0 (every processor) when
     * Spark's conf does not say.
     */
    static int executorThreads(SparkConf conf) {
        int cores = conf.getInt("spark.executor.cores", 0);
        if (cores <= 0) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("local\\[(\\d+)(,\\d+)?]").matcher(conf.get("spark.master", ""));
            cores = m.matches() ? Integer.parseInt(m.group(1)) : conf.get("spark.master", "").equals("local") ? 1 : 0;
        }
        return Math.min(cores, CompileOptions.MAX_THREADS);
    }

    /** What to run and which columns to add; defaults: cpu, 256/224 preprocessing, batch 8, one decode thread per task, top 5. */
    public static final class Builder {
        private final MobileNetV3Config config;
        private final Path weights;
        private String checkpointKey;
        private String backend = "cpu";
        private CompileOptions options = CompileOptions.defaults();
        private Preprocessing preprocessing = Preprocessing.imagenet();
        private int batch = 8, decodeThreads = 1, top = 5;
        private boolean logits, features;

        private Builder(MobileNetV3Config config, Path weights) {
            this.config = config;
            this.weights = weights;
        }

        /** The entry of a PyTorch training checkpoint that holds the tensors (default: found as {@link Checkpoint#open(Path)} finds it). */
        public Builder checkpointKey(String key) {
            this.checkpointKey = key;
            return this;
        }

        /** The backend by name: cpu, cpu-reference, cuda. */
        public Builder backend(String name) {
            this.backend = name;
            return this;
        }

        /** Threads, precision, cuDNN, graphs; the device is the GPU a task is assigned, else this one. */
        public Builder options(CompileOptions o) {
            this.options = o;
            return this;
        }

        public Builder preprocessing(Preprocessing p) {
            this.preprocessing = p;
            return this;
        }

        public Builder batch(int n) {
            if (n < 1 || n > 1024) throw new IllegalArgumentException("batch must be from 1 to 1024, got " + n);
            this.batch = n;
            return this;
        }

        /** Threads decoding each task's images (the next batch decodes while the model runs this one). */
        public Builder decodeThreads(int n) {
            if (n < 0 || n > PreprocessingStage.MAX_THREADS) {
                throw new IllegalArgumentException("decode threads must be from 0 (all processors) to " + PreprocessingStage.MAX_THREADS
                        + ", got " + n);
            }
            this.decodeThreads = n;
            return this;
        }

        /** The {@code top} column with this many classes (0: no such column). */
        public Builder top(int k) {
            if (k < 0) throw new IllegalArgumentException("top must be >= 0, got " + k);
            this.top = k;
            return this;
        }

        public Builder logits(boolean on) {
            this.logits = on;
            return this;
        }

        /** The {@code features} column: the pooled features, an embedding of width the head's channels (960 Large, 576 Small). */
        public Builder features(boolean on) {
            this.features = on;
            return this;
        }

        public ImageInference build() throws IOException {
            return new ImageInference(this);
        }
    }
}
