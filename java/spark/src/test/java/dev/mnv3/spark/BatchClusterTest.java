package dev.mnv3.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mnv3 batch on a Spark cluster whose executors are JVMs of their own, as a user runs it: a driver
 * JVM started from a job jar and Spark's jars (what ./mnv3 batch starts), Spark's local-cluster
 * master (a Master and a Worker in the driver), and an executor JVM the Worker launches from
 * Spark's jars alone, so that the job's classes reach it only as the jar the job ships and the
 * weights only as the broadcast. Its rows equal one image at a time through the model; a file
 * that does not decode and an empty one are rows with their error. The executor is killed (SIGKILL)
 * once the first task has committed: the Worker starts another, the lost tasks run again, and no
 * row is lost or written twice. Small: tiny images, one executor of one core.
 */
class BatchClusterTest {
    private static final int RESIZE = 40, CROP = 32, TOP = 3;
    /** Tiny images beside the five named ones, two to a task: 13 tasks in all. */
    private static final int EXTRA = 20, PARTITIONS = (5 + EXTRA + 1) / 2;
    private static final double TOLERANCE = 1e-5;
    private static final Path TARGET = Path.of("target").toAbsolutePath();

    @TempDir
    Path dir;

    @Test
    void rowsFromAClusterEqualTheModelsOneImageAtATime() throws Exception {
        Path weights = dir.resolve("small.safetensors");
        Graph graph = Graph.of(MobileNetV3Config.small());
        RandomWeights.generate(graph, 7).save(weights, Map.of());
        Path images = Files.createDirectories(dir.resolve("images"));
        Random rnd = new Random(7);
        List<String> good = List.of("a.jpg", "_DSC0001.JPG", ".hidden.png");
        for (String name : good) BatchJobTest.write(BatchJobTest.picture(30 + rnd.nextInt(30), 30 + rnd.nextInt(30), rnd), images.resolve(name));
        Files.writeString(images.resolve("notes.jpg"), "not an image");
        Files.write(images.resolve("empty.jpg"), new byte[0]);
        Set<String> files = new HashSet<>(good);
        files.addAll(List.of("notes.jpg", "empty.jpg"));
        for (int i = 0; i < EXTRA; i++) { // enough tasks that some are left when the executor dies
            String name = String.format(java.util.Locale.ROOT, "x%02d.png", i);
            BatchJobTest.write(BatchJobTest.picture(20 + rnd.nextInt(20), 20 + rnd.nextInt(20), rnd), images.resolve(name));
            files.add(name);
        }

        Path out = dir.resolve("out");
        Path logFile = dir.resolve("driver.log");
        Process driver = driver(weights, "file://" + images, out, logFile);
        String killed = killTheExecutorMidJob(driver, out);
        boolean ended = driver.waitFor(150, TimeUnit.SECONDS);
        if (!ended) driver.destroyForcibly().waitFor();
        String log = Files.readString(logFile);
        assertTrue(ended, "the driver ran over 150 s: " + log);
        assertEquals(0, driver.exitValue(), log);
        assertTrue(killed.startsWith("killed"), killed + "\n" + log);
        assertTrue(log.contains(": " + files.size() + " images, 2 with an error") && log.contains("Spark local-cluster"), log);

        Map<String, Tensor> expected = new java.util.HashMap<>();
        Preprocessing prep = new Preprocessing(RESIZE, CROP);
        try (CompiledModel m = new FastBackend().compile(graph, Weights.load(weights, graph), CompileOptions.defaults().withThreads(1))) {
            for (String name : good) {
                Tensor crop = Tensor.zeros(1, 3, CROP, CROP);
                assertEquals(List.of(), ImageDecoder.preprocess(ImageSource.of(images.resolve(name)), prep, crop.data(), 0));
                expected.put(name, m.run(crop));
            }
        }
        List<Map<String, Object>> rows = BatchJobTest.jsonLines(out);
        assertEquals(files.size(), rows.size(), "a row for every file, once, names starting with '_' or '.' and the empty one included");
        Set<String> seen = new HashSet<>();
        for (Map<String, Object> row : rows) {
            String file = (String) row.get("file");
            String name = file.substring(file.lastIndexOf('/') + 1);
            assertTrue(file.startsWith("file:") && seen.add(name), file);
            if (name.startsWith("x")) { // one of the many: decoded, not compared
                assertNull(row.get("error"), row.toString());
                continue;
            }
            if (!good.contains(name)) {
                assertNotNull(row.get("error"), row.toString());
                assertNull(row.get("logits"));
                continue;
            }
            assertNull(row.get("error"), row.toString());
            float[] logits = BatchJobTest.floats(row.get("logits"));
            double err = TensorDiff.of(logits, expected.get(name).data()).relL2();
            assertTrue(err <= TOLERANCE, name + ": rel L2 " + err);
            String other = good.get((good.indexOf(name) + 1) % good.size());
            assertTrue(TensorDiff.of(expected.get(other).data(), expected.get(name).data()).relL2() > 1e-2, "the check could fail");
            assertEquals(TOP, ((List<?>) row.get("top")).size());
        }
        assertEquals(files, seen);
    }

    /**
     * Waits for the first committed task in the output (Spark's committer moves each task's files
     * into _temporary/0/task_* when it commits), then SIGKILLs the executor JVM, the driver's child
     * that the Worker launched; and waits for the Worker to start another. Says what it did.
     */
    private static String killTheExecutorMidJob(Process driver, Path out) throws Exception {
        Path committed = out.resolve("_temporary/0");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        ProcessHandle victim = null;
        while (victim == null) {
            if (!driver.isAlive() || System.nanoTime() > deadline) return "no executor killed: no task committed while the job ran";
            if (taskCount(committed) > 0) victim = executors(driver).stream().findFirst().orElse(null);
            if (victim == null) Thread.sleep(20);
        }
        int before = taskCount(committed);
        victim.destroyForcibly();
        victim.onExit().get(30, TimeUnit.SECONDS);
        if (Files.exists(out.resolve("_SUCCESS"))) return "no executor killed mid-job: the job had ended";
        while (driver.isAlive() && System.nanoTime() < deadline) {
            long pid = victim.pid();
            if (executors(driver).stream().anyMatch(e -> e.pid() != pid)) {
                return "killed executor " + pid + " after " + before + " of " + PARTITIONS + " tasks had committed; another took over";
            }
            Thread.sleep(20);
        }
        return "no other executor started after the kill";
    }

    private static List<ProcessHandle> executors(Process driver) {
        return driver.descendants().filter(p -> p.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend")).toList();
    }

    private static int taskCount(Path committed) throws IOException {
        if (!Files.isDirectory(committed)) return 0;
        try (Stream<Path> s = Files.list(committed)) {
            return (int) s.filter(p -> p.getFileName().toString().startsWith("task_")).count();
        } catch (java.nio.file.NoSuchFileException e) {
            return 0; // the job committed and removed _temporary meanwhile
        }
    }

    /** The driver JVM: ./mnv3 batch's command line, with the job jar built from this module's classes and dependencies. */
    private Process driver(Path weights, String input, Path out, Path log) throws IOException {
        Path jar = jobJar(dir.resolve("mnv3-job.jar"));
        List<String> spark = Files.readAllLines(TARGET.resolve("spark.classpath")).stream()
                .flatMap(l -> Stream.of(l.split(File.pathSeparator))).filter(s -> !s.isBlank()).toList();
        Path jars = Files.createDirectories(dir.resolve("spark-home/jars")); // SPARK_HOME for the Worker: the executor's classpath
        for (String s : spark) Files.createSymbolicLink(jars.resolve(Path.of(s).getFileName()), Path.of(s));
        String javaBin = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(List.of(javaBin, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-Xmx512m", "-Dspark.executor.memory=512m", "-Dspark.ui.enabled=false",
                "-Dspark.driver.host=127.0.0.1", "-Dspark.driver.bindAddress=127.0.0.1",
                "-Dlog4j2.configurationFile=" + Path.of("src/test/resources/log4j2-test.properties").toAbsolutePath(),
                "-cp", jar + File.pathSeparator + String.join(File.pathSeparator, spark), "dev.mnv3.cli.Main",
                "batch", "--master", "local-cluster[1,1,512]", "--model", "small", "--weights", weights.toString(), "--input", input,
                "--output", out.toString(), "--format", "jsonl", "--logits", "--top", "" + TOP, "--resize", "" + RESIZE, "--crop", "" + CROP,
                "--batch", "2", "--partition-images", "2", "--no-progress"));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                .directory(dir.toFile());
        pb.environment().put("SPARK_HOME", dir.resolve("spark-home").toString());
        pb.environment().put("JAVA_HOME", Path.of(javaBin).getParent().getParent().toString());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("SPARK_SCALA_VERSION", "2.13"); // else Spark's launcher looks for a Spark source tree's build directories
        return pb.start();
    }

    /** What mnv3-spark.jar holds: this module's classes and its runtime dependencies, one jar (the first of a name wins). */
    private static Path jobJar(Path jar) throws IOException {
        List<Path> parts = new ArrayList<>(List.of(TARGET.resolve("classes")));
        for (String l : Files.readAllLines(TARGET.resolve("job.classpath"))) {
            for (String s : l.split(File.pathSeparator)) if (!s.isBlank()) parts.add(Path.of(s));
        }
        Set<String> names = new HashSet<>();
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            for (Path p : parts) {
                if (Files.isDirectory(p)) {
                    try (Stream<Path> files = Files.walk(p)) {
                        for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                            add(out, names, p.relativize(f).toString().replace('\\', '/'), Files.readAllBytes(f));
                        }
                    }
                } else {
                    try (JarFile in = new JarFile(p.toFile())) {
                        for (JarEntry e : java.util.Collections.list(in.entries())) {
                            if (!e.isDirectory()) add(out, names, e.getName(), in.getInputStream(e).readAllBytes());
                        }
                    }
                }
            }
        }
        return jar;
    }

    private static void add(JarOutputStream out, Set<String> names, String name, byte[] bytes) throws IOException {
        String upper = name.toUpperCase(java.util.Locale.ROOT);
        if (upper.startsWith("META-INF/") && (upper.endsWith(".SF") || upper.endsWith(".RSA") || upper.endsWith(".DSA")
                || upper.equals("META-INF/MANIFEST.MF")) || name.endsWith("module-info.class") || !names.add(name)) {
            return;
        }
        out.putNextEntry(new JarEntry(name));
        out.write(bytes);
        out.closeEntry();
    }
}
