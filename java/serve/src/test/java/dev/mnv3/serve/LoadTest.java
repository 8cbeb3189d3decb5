package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.client.InferenceClient;
import dev.mnv3.core.tensor.Tensor;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many clients at once: batches form, every client gets its own rows, nothing fails, and memory outside the heap does not grow. */
class LoadTest {
    private static TestServer s;
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        s = new TestServer(new BatchPolicy(8, 5_000, 256), 1, 1 << 20);
    }

    @AfterAll
    static void stop() {
        if (s != null) s.close();
    }

    /** Mean images per batch since the last call, from /metrics. */
    private static final class BatchSizes {
        double sum, count;

        double meanSinceLast() throws Exception {
            String m = Tools.curl(s.url("/metrics"), null).text();
            double sum2 = RestEndpointsTest.metric(m, "mnv3_batch_size_sum"), count2 = RestEndpointsTest.metric(m, "mnv3_batch_size_count");
            double mean = (sum2 - sum) / (count2 - count);
            sum = sum2;
            count = count2;
            return mean;
        }
    }

    @Test
    void concurrentClientsAreBatchedAndEachGetsItsOwnResult() throws Exception {
        int clients = 8, each = 6;
        Tensor[][] inputs = new Tensor[clients][each];
        float[][][] served = new float[clients][each][];
        for (int c = 0; c < clients; c++) for (int i = 0; i < each; i++) inputs[c][i] = TestServer.input(1, 1000 + c * each + i);
        BatchSizes sizes = new BatchSizes();
        sizes.meanSinceLast();
        List<Future<?>> runs = new ArrayList<>();
        try (InferenceClient client = new InferenceClient(URI.create(s.url("")));
             ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            for (int c = 0; c < clients; c++) {
                int id = c;
                runs.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        served[id][i] = client.infer(TestServer.NAME, "input", inputs[id][i].data(), 1, 3, TestServer.SIZE, TestServer.SIZE)
                                .get("logits").floats();
                    }
                    return null;
                }));
            }
            for (Future<?> f : runs) f.get();
        }
        double mean = sizes.meanSinceLast();
        assertTrue(mean > 1.5, "8 concurrent clients with a 5 ms queue delay should share batches; mean batch " + mean);
        Tensor other = s.expected(TestServer.input(1, 7));
        for (int c = 0; c < clients; c++) {
            for (int i = 0; i < each; i++) Bodies.assertParity("client " + c + " request " + i, served[c][i], s.expected(inputs[c][i]), other);
        }
    }

    /**
     * hey, a load generator nobody here wrote, with 16 connections twice: only 200s, batches of
     * more than one image, and the JVM's direct buffers no bigger after the second wave than
     * after the first (a leak per request would grow with it).
     */
    @Test
    void heyLoadIsServedInBatchesWithoutGrowingOffHeapMemory() throws Exception {
        String hey = Tools.require("hey");
        Bodies.Binary b = Bodies.binary(TestServer.input(1, 77), null);
        Path body = Files.write(dir.resolve("hey.bin"), b.body());
        List<String> cmd = List.of(hey, "-z", "4s", "-c", "16", "-m", "POST", "-T", "application/octet-stream",
                "-H", "Inference-Header-Content-Length: " + b.headerLength(), "-D", body.toString(), s.url("/v2/models/small/infer"));
        BatchSizes sizes = new BatchSizes();
        long[] direct = new long[2];
        for (int wave = 0; wave < 2; wave++) {
            sizes.meanSinceLast();
            Tools.Run r = Tools.run(cmd, 60);
            assertEquals(0, r.exit(), r.toString());
            Matcher codes = Pattern.compile("\\[(\\d{3})]\\s+(\\d+) responses").matcher(r.out());
            int ok = 0;
            while (codes.find()) {
                assertEquals("200", codes.group(1), "hey saw another status than 200:\n" + r.out());
                ok += Integer.parseInt(codes.group(2));
            }
            assertTrue(ok > 16, "too few answers to mean anything:\n" + r.out());
            assertTrue(!r.out().contains("Error distribution"), "hey saw errors:\n" + r.out());
            double mean = sizes.meanSinceLast();
            assertTrue(mean > 1.5, "16 clients should share batches; mean batch " + mean + "\n" + r.out());
            System.gc();
            direct[wave] = (long) RestEndpointsTest.metric(Tools.curl(s.url("/metrics"), null).text(),
                    "jvm_buffer_pool_used_bytes{pool=\"direct\"}");
        }
        assertTrue(direct[1] <= direct[0] + (4 << 20), "direct buffers grew from " + direct[0] + " to " + direct[1] + " bytes");
    }

    /**
     * A crowd of JSON clients (48 at once, against 4 requests received at a time and 8 queued):
     * every request is answered, 200 or 429 (both happen), hey sees no connection dropped, and
     * liveness, probed meanwhile on a new connection each time, always answers 200. How fast it
     * answers is measured by benchmarks/serve/overload.py (on this shared machine its tail is the
     * machine's); that it answers whatever the work in flight, by LifecycleTest.
     */
    @Test
    void aJsonCrowdIsAnsweredAndLivenessStaysFast() throws Exception {
        String hey = Tools.require("hey");
        ServerConfig c = TestServer.config(new BatchPolicy(8, 2_000, 8), 1 << 20);
        Path body = Files.writeString(dir.resolve("crowd.json"), Bodies.json(TestServer.input(1, 5), null));
        try (TestServer crowd = new TestServer(c.withLimits(c.limits().withReceiving(4, 64 << 20)), 1, false, CoreImageDecoder.DEFAULT)) {
            List<Long> live = new java.util.concurrent.CopyOnWriteArrayList<>();
            java.util.concurrent.atomic.AtomicBoolean probing = new java.util.concurrent.atomic.AtomicBoolean(true);
            Thread probe = Thread.ofPlatform().start(() -> {
                while (probing.get()) {
                    long start = System.nanoTime();
                    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", crowd.server.httpPort())) {
                        socket.getOutputStream().write("GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes());
                        String status = new String(socket.getInputStream().readNBytes(12));
                        if (!status.equals("HTTP/1.1 200")) throw new IllegalStateException("liveness answered " + status);
                        live.add(System.nanoTime() - start);
                        Thread.sleep(20);
                    } catch (Exception e) {
                        live.add(Long.MAX_VALUE);
                    }
                }
            });
            Tools.Run r = Tools.run(List.of(hey, "-z", "4s", "-c", "48", "-m", "POST", "-T", "application/json", "-D", body.toString(),
                    crowd.url("/v2/models/small/infer")), 60);
            probing.set(false);
            probe.join();
            assertEquals(0, r.exit(), r.toString());
            assertTrue(!r.out().contains("Error distribution"), "hey got no answer to some requests:\n" + r.out());
            Matcher codes = Pattern.compile("\\[(\\d{3})]\\s+(\\d+) responses").matcher(r.out());
            java.util.Map<String, Integer> byStatus = new java.util.TreeMap<>();
            while (codes.find()) byStatus.put(codes.group(1), Integer.parseInt(codes.group(2)));
            assertEquals(java.util.Set.of("200", "429"), byStatus.keySet(), "answers by status: " + r.out());
            String m = Tools.curl(crowd.url("/metrics"), null).text();
            double served = RestEndpointsTest.metric(m, "mnv3_request_duration_seconds_sum{protocol=\"rest\"}")
                    / RestEndpointsTest.metric(m, "mnv3_request_duration_seconds_count{protocol=\"rest\"}");
            List<Long> sorted = live.stream().sorted().toList();
            assertTrue(sorted.size() >= 20 && sorted.getLast() != Long.MAX_VALUE, "a liveness probe failed: " + sorted.size() + " probes");
            System.out.printf("JSON crowd: %s; liveness p50 %.1f ms, p90 %.1f ms over %d probes; a served request %.1f ms on average%n",
                    byStatus, sorted.get(sorted.size() / 2) / 1e6, sorted.get((int) (0.9 * (sorted.size() - 1))) / 1e6, sorted.size(),
                    served * 1e3);
        }
    }
}
