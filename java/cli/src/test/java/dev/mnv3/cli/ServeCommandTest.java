package dev.mnv3.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.SafeTensors;
import dev.mnv3.core.weights.SafeTensorsWriter;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mnv3 serve} as users run it: its own process, answering curl with what {@code mnv3 run}
 * writes for the same weights and input, and draining on SIGTERM.
 */
class ServeCommandTest {
    @TempDir
    static Path dir;
    static Path weights, input, other;

    @BeforeAll
    static void files() throws Exception {
        Graph small = Graph.of(MobileNetV3Config.small());
        weights = dir.resolve("small.safetensors");
        RandomWeights.generate(small, 5).save(weights, Map.of());
        input = dir.resolve("x.safetensors");
        SafeTensorsWriter.write(input, Map.of("input", RandomWeights.input(2, 64, 64, 6)), Map.of());
        other = dir.resolve("other.safetensors");
        SafeTensorsWriter.write(other, Map.of("input", RandomWeights.input(2, 64, 64, 7)), Map.of());
    }

    /** A serve process, its output (stdout and stderr) in a file, and its REST port from the ready line. */
    private record Served(Process process, Path log, int httpPort) implements AutoCloseable {
        static Served start(String... args) throws Exception {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                    "-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve", "--host", "127.0.0.1",
                    "--http-port", "0", "--grpc-port", "0", "--probe-port", "0"));
            cmd.addAll(List.of(args));
            Path log = Files.createTempFile(dir, "serve", ".log");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Pattern ready = Pattern.compile("ready: REST http://127\\.0\\.0\\.1:(\\d+)");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline && p.isAlive()) {
                Matcher m = ready.matcher(Files.readString(log));
                if (m.find()) return new Served(p, log, Integer.parseInt(m.group(1)));
                Thread.sleep(50);
            }
            p.destroyForcibly();
            return fail("serve did not become ready:\n" + Files.readString(log));
        }

        String url(String path) {
            return "http://127.0.0.1:" + httpPort + path;
        }

        String output() throws IOException {
            return Files.readString(log);
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    private static Tensor logitsOfRun(Path x, String name) {
        Path out = dir.resolve(name);
        Cli run = Cli.run("run", "--model", "small", "--weights", weights.toString(), "--input", x.toString(), "--output", out.toString());
        assertEquals(0, run.exitCode(), run.toString());
        try (SafeTensors st = SafeTensors.open(out)) {
            return st.readTensor("logits");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The input as a binary tensor data body. */
    private static byte[] binaryBody(Tensor x, StringBuilder headerLength) {
        ByteBuffer raw = ByteBuffer.allocate(4 * x.size()).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(x.data());
        String shape = java.util.Arrays.toString(x.shape()).replace(" ", "");
        byte[] header = ("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":" + shape + ",\"parameters\":{\"binary_data_size\":"
                + raw.capacity() + "}}],\"parameters\":{\"binary_data_output\":true}}").getBytes(StandardCharsets.UTF_8);
        headerLength.append(header.length);
        byte[] body = new byte[header.length + raw.capacity()];
        System.arraycopy(header, 0, body, 0, header.length);
        System.arraycopy(raw.array(), 0, body, header.length, raw.capacity());
        return body;
    }

    private static Tensor readInput(Path file) throws IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            return st.readTensor("input");
        }
    }

    @Test
    void servesWhatRunWritesForTheSameWeightsAndInput() throws Exception {
        Tensor expected = logitsOfRun(input, "y.safetensors"), moved = logitsOfRun(other, "y2.safetensors");
        assertTrue(TensorDiff.of(moved, expected).relL2() > 1e-2, "another input must move the logits, or the check could not fail");
        Tensor x = readInput(input);
        StringBuilder headerLength = new StringBuilder();
        Path body = Files.write(dir.resolve("x.bin"), binaryBody(x, headerLength));
        try (Served s = Served.start("--model", "small", "--weights", weights.toString(), "--max-batch-size", "4", "--crop", "64",
                "--resize", "72")) {
            Path answer = dir.resolve("answer.bin");
            Process curl = new ProcessBuilder("curl", "-sS", "-f", "-o", answer.toString(), "-H", "Content-Type: application/octet-stream",
                    "-H", "Inference-Header-Content-Length: " + headerLength, "--data-binary", "@" + body, s.url("/v2/models/small/infer"))
                    .redirectErrorStream(true).start();
            String said = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(curl.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, curl.exitValue(), "curl: " + said);
            byte[] a = Files.readAllBytes(answer);
            int jsonLength = new String(a, StandardCharsets.ISO_8859_1).indexOf("}]}") + 3;
            assertTrue(new String(a, 0, jsonLength, StandardCharsets.UTF_8).contains("\"binary_data_size\":8000"));
            float[] served = new float[2000];
            ByteBuffer.wrap(a, jsonLength, a.length - jsonLength).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(served);
            double err = TensorDiff.of(served, expected.data()).relL2();
            assertTrue(err <= 1e-6, "served logits differ from mnv3 run's by rel L2 " + err);
            Matcher probes = Pattern.compile("probes and metrics http://127\\.0\\.0\\.1:(\\d+)/metrics").matcher(s.output());
            assertTrue(probes.find(), s.output());
            HttpResponse<String> live = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + probes.group(1) + "/v2/health/live")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, live.statusCode(), "the probe port the ready line names answers");
        }
    }

    /**
     * SIGTERM while requests are in flight: a 5 s queue delay and a max batch of 64 hold three
     * requests in the queue, certainly in flight when the signal comes; each is answered (the
     * drain runs the queue at once), then the process stops.
     */
    @Test
    void sigtermDrainsTheRequestsInFlight() throws Exception {
        Tensor x = RandomWeights.input(1, 64, 64, 8);
        StringBuilder headerLength = new StringBuilder();
        byte[] body = binaryBody(x, headerLength);
        try (Served s = Served.start("--model", "small", "--max-batch-size", "64", "--max-queue-delay-us", "5000000", "--crop", "64",
                "--resize", "72"); HttpClient http = HttpClient.newHttpClient()) {
            List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                sent.add(http.sendAsync(HttpRequest.newBuilder(URI.create(s.url("/v2/models/small/infer")))
                        .header("Inference-Header-Content-Length", headerLength.toString())
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString()));
            }
            String depth = "";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!depth.equals("mnv3_queue_depth 3.0") && System.nanoTime() < deadline) {
                Thread.sleep(10);
                depth = http.send(HttpRequest.newBuilder(URI.create(s.url("/metrics"))).build(), HttpResponse.BodyHandlers.ofString())
                        .body().lines().filter(l -> l.startsWith("mnv3_queue_depth ")).findFirst().orElse("");
            }
            assertEquals("mnv3_queue_depth 3.0", depth, "the three requests never waited in the queue together");
            s.process.destroy(); // SIGTERM
            for (CompletableFuture<HttpResponse<String>> f : sent) {
                HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
            }
            assertTrue(s.process.waitFor(60, TimeUnit.SECONDS), "serve did not stop after draining");
            assertEquals(0, s.process.exitValue(), "a clean drain is a success, not 143 (killed by SIGTERM)");
            String out = s.output();
            assertTrue(out.contains("shutting down: draining") && out.contains("mnv3 serve: stopped"), out);
            assertTrue(out.contains("no --weights: serving seeded random weights"), out);
        }
    }

    @Test
    void badOptionsAreOneLineErrors() {
        for (String[] c : new String[][] {{"--max-batch-size", "0", "--max-batch-size must be from 1 to 1024"},
                {"--max-queue-delay-us", "-5", "--max-queue-delay-us must be from 0"}, {"--queue-limit", "0", "--queue-limit must be >= 1"},
                {"--pad-batches", "1,3", "--pad-batches: the largest padded batch size must be the max batch size 8"},
                {"--pad-batches", "x", "--pad-batches takes auto, off or a list"}, {"--name", "a/b", "--name must be"},
                {"--http-port", "70000", "HTTP port must be from 0 to 65535"},
                {"--probe-port", "of", "--probe-port takes a port from 0 to 65535 or off, got 'of'"}, {"--max-body-mb", "0", "--max-body-mb must be from 1"},
                {"--crop", "300", "--resize and --crop"}, {"--tls-cert", "c.pem", "--tls-cert and --tls-key go together"},
                {"--max-receiving", "-1", "--max-receiving must be from 1"}, {"--max-decode-ratio", "0", "--max-decode-ratio must be >= 1"},
                {"--decode-timeout-ms", "-1", "--decode-timeout-ms must be >= 0"},
                {"--auth-token-file", dir.resolve("none").toString(), "file not found: " + dir.resolve("none")}}) {
            Cli r = Cli.run("serve", "--model", "small", c[0], c[1]);
            assertEquals(1, r.exitCode(), r.toString());
            assertTrue(r.err().startsWith("mnv3: " + c[2]) || r.err().contains("mnv3: " + c[2]), c[0] + " " + c[1] + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
        Cli help = Cli.run("serve", "--help");
        assertEquals(0, help.exitCode());
        for (String option : List.of("--weights", "--name", "--http-port", "--grpc-port", "--probe-port", "--max-batch-size", "--max-queue-delay-us",
                "--queue-limit", "--instances", "--pad-batches", "--max-body-mb", "--resize", "--crop", "--drain-seconds", "--max-receiving",
                "--max-receiving-mb", "--allow-non-finite", "--max-decode-ratio", "--decode-timeout-ms", "--tls-cert", "--tls-key",
                "--auth-token-file", "MNV3_JAVA_OPTS", "curl")) {
            assertTrue(help.out().contains(option), option + " missing from serve --help");
        }
    }
}
