package dev.mnv3.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.cli.Main;
import dev.mnv3.core.Json;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.ImageDecoder;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.fast.FastBackend;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batch jobs on Spark local[2]: their results equal one image at a time through the model (what
 * mnv3 run and mnv3 classify give), Parquet and JSON lines read back, a bad image is a row with
 * its error, and the rows out equal the images in. Small at 64x64 crops keeps it quick.
 */
class BatchJobTest {
    private static final int RESIZE = 72, CROP = 64, IMAGES = 10, TOP = 3;
    private static final double TOLERANCE = 1e-5;

    @TempDir
    static Path dir;
    static Path weights, images, bad;
    static SparkSession spark;
    static Map<String, Tensor> expectedLogits = new HashMap<>(), expectedFeatures = new HashMap<>();

    @BeforeAll
    static void setUp() throws Exception {
        weights = dir.resolve("small.safetensors");
        Graph graph = Graph.of(MobileNetV3Config.small());
        RandomWeights.generate(graph, 5).save(weights, Map.of());
        images = Files.createDirectories(dir.resolve("images/sub")).getParent();
        Random rnd = new Random(5);
        for (int i = 0; i < IMAGES; i++) {
            Path parent = i < 3 ? images.resolve("sub") : images;
            write(picture(50 + rnd.nextInt(70), 50 + rnd.nextInt(70), rnd), parent.resolve(String.format("p%02d.%s", i, i % 3 == 0 ? "png" : "jpg")));
        }
        bad = Files.createDirectories(dir.resolve("bad"));
        Files.copy(images.resolve("p04.jpg"), bad.resolve("a-good.jpg"));
        byte[] jpeg = Files.readAllBytes(images.resolve("p04.jpg"));
        Files.write(bad.resolve("b-truncated.jpg"), Arrays.copyOf(jpeg, jpeg.length / 2));
        Files.writeString(bad.resolve("c-notes.jpg"), "not an image");

        // the expected results: each image decoded alone, run alone (as mnv3 run runs a crop)
        Preprocessing prep = new Preprocessing(RESIZE, CROP);
        try (CompiledModel m = new FastBackend().compile(graph, Weights.load(weights, graph), CompileOptions.defaults().withThreads(1))) {
            for (Path f : imageFiles(images)) {
                Tensor crop = Tensor.zeros(1, 3, CROP, CROP);
                assertEquals(List.of(), ImageDecoder.preprocess(ImageSource.of(f), prep, crop.data(), 0));
                Map<String, Tensor> trace = m.trace(crop);
                expectedLogits.put(f.toString(), trace.get(graph.outputNode()));
                expectedFeatures.put(f.toString(), trace.get("avgpool"));
            }
        }
        spark = SparkSession.builder().master("local[2]").appName("mnv3 test").config("spark.ui.enabled", "false").getOrCreate();
    }

    @AfterAll
    static void tearDown() {
        if (spark != null) spark.stop();
    }

    static BufferedImage picture(int w, int h, Random rnd) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int a = 1 + rnd.nextInt(255), b = 1 + rnd.nextInt(255);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) img.setRGB(x, y, (x * a / w & 0xff) << 16 | (y * b / h & 0xff) << 8 | rnd.nextInt(256));
        }
        return img;
    }

    static void write(BufferedImage img, Path p) throws IOException {
        ImageIO.write(img, p.toString().endsWith("png") ? "png" : "jpg", p.toFile());
    }

    static List<Path> imageFiles(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).map(p -> p.toAbsolutePath().normalize()).sorted().toList();
        }
    }

    private static ImageInference.Builder inference() {
        return ImageInference.builder(MobileNetV3Config.small(), weights).options(CompileOptions.defaults().withThreads(1))
                .preprocessing(new Preprocessing(RESIZE, CROP)).batch(4).top(TOP);
    }

    private record Cli(int exitCode, String out, String err) {
        static Cli run(String... args) {
            StringWriter out = new StringWriter(), err = new StringWriter();
            int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
            return new Cli(code, out.toString(), err.toString());
        }
    }

    private static Cli batch(Object input, Object output, String... extra) {
        List<String> args = new ArrayList<>(List.of("batch", "--model", "small", "--backend", "cpu", "--threads", "1", "--weights",
                weights.toString(), "--input", input.toString(), "--output", output.toString(), "--resize", "" + RESIZE, "--crop",
                "" + CROP, "--batch", "3", "--partition-images", "4", "--no-progress"));
        args.addAll(List.of(extra));
        if (!args.contains("--top")) args.addAll(List.of("--top", "" + TOP));
        return Cli.run(args.toArray(String[]::new));
    }

    /** The JSON objects of a directory of Spark part files, in part order. */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> jsonLines(Path output) throws IOException {
        List<Map<String, Object>> lines = new ArrayList<>();
        try (Stream<Path> parts = Files.list(output)) {
            for (Path p : parts.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList()) {
                for (String l : Files.readAllLines(p)) lines.add((Map<String, Object>) Json.parse(l));
            }
        }
        return lines;
    }

    static float[] floats(Object jsonArray) {
        List<Object> a = Json.array(jsonArray, "array");
        float[] f = new float[a.size()];
        for (int i = 0; i < f.length; i++) f[i] = ((Number) a.get(i)).floatValue();
        return f;
    }

    /** {@code actual} within the tolerance of {@code expected}, guarded: another image's values are far from it. */
    private static void assertClose(Tensor expected, float[] actual, Tensor other, String what) {
        double err = TensorDiff.of(actual, expected.data()).relL2();
        assertTrue(err <= TOLERANCE, what + ": rel L2 " + err);
        double moved = TensorDiff.of(other.data(), expected.data()).relL2();
        assertTrue(moved > 1e-2, what + ": another image moves it by only " + moved + " (the check could not fail)");
    }

    @Test
    void jsonLinesThroughTheCommandEqualClassifyAndOneImageAtATime() throws Exception {
        Path out = dir.resolve("jsonl-out");
        Cli r = batch(images, out, "--format", "jsonl", "--logits");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().startsWith("wrote " + out + " (jsonl): " + IMAGES + " images, 0 with an error"), r.out());
        Path classified = dir.resolve("classify.jsonl");
        Cli c = Cli.run("classify", "--model", "small", "--backend", "cpu", "--threads", "1", "--weights", weights.toString(),
                "--resize", "" + RESIZE, "--crop", "" + CROP, "--top", "" + TOP, "--output", classified.toString(), "--no-progress",
                images.toAbsolutePath().toString());
        assertEquals(0, c.exitCode(), c.err());

        List<Path> files = imageFiles(images);
        List<Map<String, Object>> rows = jsonLines(out);
        assertEquals(files.size(), rows.size(), "one row per image");
        List<String> classifyLines = Files.readAllLines(classified);
        for (int i = 0; i < files.size(); i++) {
            Map<String, Object> row = rows.get(i);
            String file = files.get(i).toString();
            assertEquals(file, row.get("file"), "order kept");
            assertNull(row.get("error"));
            assertClose(expectedLogits.get(file), floats(row.get("logits")), expectedLogits.get(files.get((i + 1) % files.size()).toString()),
                    file + " logits");
            @SuppressWarnings("unchecked")
            Map<String, Object> classify = (Map<String, Object>) Json.parse(classifyLines.get(i));
            assertEquals(file, classify.get("file"));
            List<Object> top = Json.array(row.get("top"), "top"), expected = Json.array(classify.get("top"), "top");
            assertEquals(TOP, top.size());
            for (int k = 0; k < TOP; k++) {
                Map<String, Object> a = Json.object(top.get(k), "class"), e = Json.object(expected.get(k), "class");
                assertEquals(e.get("class"), a.get("class"), file + " class " + k);
                assertEquals(e.get("label"), a.get("label"));
                double pa = ((Number) a.get("probability")).doubleValue(), pe = ((Number) e.get("probability")).doubleValue();
                assertEquals(pe, pa, 1e-5 * pe + 1e-9, file + " probability " + k); // classify prints 6 digits
            }
        }
        int models = ExecutorModels.size();
        assertTrue(models >= 1);
        assertEquals(0, batch(images, dir.resolve("jsonl-again"), "--format", "jsonl").exitCode());
        assertEquals(models, ExecutorModels.size(), "the JVM's model is reused by the next job, not compiled again");
    }

    @Test
    void parquetOfBinaryFilesReadsBackWithFeatures() throws Exception {
        ImageInference inf = inference().logits(true).features(true).build();
        Dataset<Row> files = spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(images.toString());
        Path out = dir.resolve("parquet-out");
        inf.onBinaryFiles(files).drop("content").write().parquet(out.toString());
        List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
        List<Path> paths = imageFiles(images);
        assertEquals(paths.size(), rows.size(), "one row per file");
        assertEquals(IMAGES, inf.imagesDone());
        for (Row row : rows) {
            String file = Path.of(java.net.URI.create(row.getAs("path"))).toString();
            assertNull(row.getAs("error"), file);
            String other = paths.get((paths.indexOf(Path.of(file)) + 1) % paths.size()).toString();
            assertClose(expectedLogits.get(file), floats(row.getList(row.fieldIndex("logits"))), expectedLogits.get(other), file + " logits");
            float[] features = floats(row.getList(row.fieldIndex("features")));
            assertEquals(576, features.length, "Small's pooled features");
            assertClose(expectedFeatures.get(file), features, expectedFeatures.get(other), file + " features");
            List<Row> top = row.getList(row.fieldIndex("top"));
            assertEquals(TOP, top.size());
            assertTrue(top.get(0).getFloat(2) >= top.get(1).getFloat(2), "most probable first");
        }
    }

    private static float[] floats(List<?> values) {
        float[] f = new float[values.size()];
        for (int i = 0; i < f.length; i++) f[i] = ((Number) values.get(i)).floatValue();
        return f;
    }

    @Test
    void badImagesAreRowsWithTheirErrorAndNoRowIsLost() throws Exception {
        Path out = dir.resolve("bad-out");
        Cli r = batch(bad, out, "--format", "jsonl");
        assertEquals(0, r.exitCode(), r.err());
        List<Map<String, Object>> rows = jsonLines(out);
        assertEquals(3, rows.size(), "rows out equal files in");
        assertNotNull(rows.get(0).get("top"), rows.get(0).toString());
        assertNull(rows.get(0).get("error"));
        for (Map<String, Object> row : rows.subList(1, 3)) {
            String error = (String) row.get("error");
            assertNotNull(error, row.toString());
            assertTrue(error.contains(Path.of((String) row.get("file")).getFileName().toString()), error);
            assertNull(row.get("top"));
        }
        assertTrue(r.out().contains(": 3 images, 2 with an error"), r.out());

        // a path that names no file: its row says so
        StructType schema = new StructType().add("path", DataTypes.StringType, true);
        String missing = dir.resolve("missing.jpg").toString(), good = bad.resolve("a-good.jpg").toString();
        Dataset<Row> paths = spark.createDataFrame(List.of(RowFactory.create(good), RowFactory.create(missing), RowFactory.create((Object) null)), schema);
        List<Row> ran = inference().build().onPaths(paths, "path").collectAsList();
        assertEquals(3, ran.size());
        assertNull(ran.get(0).getAs("error"));
        assertEquals("file not found: " + missing, ran.get(1).getAs("error"));
        assertTrue(((String) ran.get(2).getAs("error")).contains("no image path"), ran.get(2).toString());
    }

    @Test
    void csvHoldsTheResultsAsJsonText() throws Exception {
        Path out = dir.resolve("csv-out");
        Cli r = batch(bad, out, "--format", "csv");
        assertEquals(0, r.exitCode(), r.err());
        List<Row> rows = spark.read().option("header", "true").option("escape", "\"").csv(out.toString()).collectAsList();
        assertEquals(3, rows.size());
        Row good = rows.stream().filter(row -> ((String) row.getAs("file")).endsWith("a-good.jpg")).findFirst().orElseThrow();
        assertTrue(((String) good.getAs("top")).startsWith("[{\"class\":"), good.toString());
        assertNull(good.getAs("error"));
        assertEquals(2, rows.stream().filter(row -> row.getAs("error") != null).count());
        Cli again = batch(bad, out, "--format", "csv");
        assertEquals(1, again.exitCode(), "an existing output is never overwritten");
        assertTrue(again.err().contains("exists"), again.err());

        // RFC 4180, as Python's csv module (and pandas) read it: a quote inside a field is doubled, not backslashed
        String python = System.getenv().getOrDefault("MNV3_PYTHON", "python3");
        Process p = new ProcessBuilder(python, "-c", "import csv, glob, json, sys\n"
                + "rows = [r for f in sorted(glob.glob(sys.argv[1] + '/part-*')) for r in csv.DictReader(open(f, newline=''))]\n"
                + "assert all(list(r) == ['file', 'top', 'error'] and None not in r for r in rows), rows\n"
                + "print(len(rows), sum(len(json.loads(r['top'])) for r in rows if r['top']))", out.toString())
                .redirectErrorStream(true).start();
        String read = new String(p.getInputStream().readAllBytes()).strip();
        assertEquals(0, p.waitFor(), read);
        assertEquals("3 " + TOP, read, "three rows, the good one's top classes parsed as JSON");
    }

    /** A command's failure: exit 1 and one line on stderr, quickly. */
    private static void assertOneLineFailure(Cli r, String expected) {
        assertEquals(1, r.exitCode(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(expected), r.err());
    }

    @Test
    void uriInputsGiveARowForEveryFileAsPathsDo() throws Exception {
        Path odd = Files.createDirectories(dir.resolve("odd"));
        for (String name : List.of("_DSC0001.JPG", ".x.jpg", "a.jpg")) Files.copy(bad.resolve("a-good.jpg"), odd.resolve(name));
        Files.write(odd.resolve("empty.jpg"), new byte[0]);
        Files.writeString(odd.resolve("notes.txt"), "not listed: not an image's name");
        List<Set<String>> names = new ArrayList<>();
        for (Object input : List.of(odd, odd.toUri())) {
            Path out = dir.resolve("odd-out-" + names.size());
            Cli r = batch(input, out, "--format", "jsonl");
            assertEquals(0, r.exitCode(), r.err());
            assertTrue(r.out().contains(": 4 images, 1 with an error"), input + ": " + r.out());
            Set<String> seen = new HashSet<>();
            for (Map<String, Object> row : jsonLines(out)) seen.add(((String) row.get("file")).replaceAll(".*/", ""));
            names.add(seen);
        }
        assertEquals(Set.of("_DSC0001.JPG", ".x.jpg", "a.jpg", "empty.jpg"), names.get(0));
        assertEquals(names.get(0), names.get(1), "a file: URI lists what the path does");
    }

    @Test
    void whatCannotRunIsOneLineBeforeAnyTask() throws Exception {
        Path existing = Files.createDirectories(dir.resolve("existing"));
        assertOneLineFailure(batch(bad, existing.toUri()), "exists: batch writes a new directory");
        assertOneLineFailure(batch(bad, bad.resolve("a-good.jpg").resolve("out")), "cannot create the directory");
        assertOneLineFailure(batch(dir.resolve("nowhere").toUri(), dir.resolve("never")),
                "no such file or directory");
        assertFalse(Files.exists(dir.resolve("never")));
        assertOneLineFailure(batch(bad, dir.resolve("never"), "--top", "0"), "--top must be from 1");
        assertOneLineFailure(batch(bad, dir.resolve("never"), "--top", "1001"), "--top must be from 1 to the model's 1000 classes");
    }

    @Test
    void aJobThatFailsLeavesNoOutputDirectory() throws Exception {
        // Large's graph on Small's weights: the driver only reads the checkpoint's layout, the executors' weights do not fit
        BatchJob job = new BatchJob(MobileNetV3Config.large(), weights, "cpu", CompileOptions.defaults().withThreads(1),
                new Preprocessing(RESIZE, CROP), 2, 1, TOP, false, false);
        Path out = dir.resolve("failed-out");
        BatchJob.BatchException e = org.junit.jupiter.api.Assertions.assertThrows(BatchJob.BatchException.class, () -> job.run(null,
                List.of(bad.resolve("a-good.jpg").toString()), List.of(), n -> true, 4, out.toString(), BatchJob.Format.JSONL, null));
        assertTrue(e.getMessage().startsWith("the Spark job failed: ") && !e.getMessage().contains("\n"), e.getMessage());
        assertFalse(Files.exists(out), "a rerun must not be refused for the failed run's directory");
    }
}
