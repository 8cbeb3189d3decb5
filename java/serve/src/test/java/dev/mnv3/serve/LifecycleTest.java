package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readiness, back-pressure and draining, on a model that the test holds at a gate so that
 * "in flight" and "queued" are states it controls rather than races it hopes to win.
 */
class LifecycleTest {
    @TempDir
    Path dir;

    private static final String BODY = "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3,32,32],\"data\":["
            + "0,".repeat(3 * 32 * 32 - 1) + "0]}]}";

    private static InferenceServer start(FakeModel model, BatchPolicy policy, int httpPort) throws Exception {
        ServerConfig config = new ServerConfig("127.0.0.1", httpPort, 0, 1 << 20, policy, Duration.ofSeconds(30));
        return InferenceServer.start(config, new ServedModel("fake", FakeModel.GRAPH, TestServer.PREPROCESSING, "fake"),
                ModelInstances.of(List.of(model)), CoreImageDecoder.DEFAULT);
    }

    private static String url(int port, String path) {
        return "http://127.0.0.1:" + port + path;
    }

    private Path body() throws Exception {
        return Files.writeString(dir.resolve("body.json"), BODY);
    }

    /** An inference request sent by a client that waits for the answer (the in-flight and queued ones). */
    private static CompletableFuture<HttpResponse<String>> send(HttpClient http, int port) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create(url(port, "/v2/models/fake/infer")))
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting until " + what);
            Thread.sleep(5);
        }
    }

    @Test
    void readyOnlyOnceTheWarmUpInferenceHasRun() throws Exception {
        FakeModel model = new FakeModel();
        model.gate = new CountDownLatch(1);
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        CompletableFuture<InferenceServer> starting = CompletableFuture.supplyAsync(() -> {
            try {
                return start(model, new BatchPolicy(2, 0, 8), port);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            await(() -> {
                try {
                    return Tools.curl(url(port, "/v2/health/live"), null).status() == 200;
                } catch (Exception | AssertionError e) {
                    return false;
                }
            }, "the server is live");
            assertEquals(400, Tools.curl(url(port, "/v2/health/ready"), null).status());
            assertEquals(400, Tools.curl(url(port, "/v2/models/fake/ready"), null).status());
            Tools.Http early = Tools.curl(url(port, "/v2/models/fake/infer"), body());
            assertEquals(503, early.status());
            assertTrue(early.text().contains("warming up"), early.text());
            assertTrue(model.batches.contains(1), "the warm-up runs before readiness: " + model.batches);
        } finally {
            model.gate.countDown();
        }
        try (InferenceServer server = starting.get(30, TimeUnit.SECONDS)) {
            assertEquals(200, Tools.curl(url(port, "/v2/health/ready"), null).status());
            assertEquals(200, Tools.curl(url(port, "/v2/models/fake/infer"), body()).status());
            assertTrue(model.batches.containsAll(List.of(1, 2)), "warmed up at batch 1 and the max: " + model.batches);
            assertEquals(ServerState.Phase.READY, server.state().phase());
        }
    }

    @Test
    void aFullQueueAnswers429AndTheQueuedRequestsStillRun() throws Exception {
        FakeModel model = new FakeModel();
        try (InferenceServer server = start(model, new BatchPolicy(1, 0, 1), 0); HttpClient http = HttpClient.newHttpClient()) {
            int port = server.httpPort();
            model.gate = new CountDownLatch(1);
            model.started = new CountDownLatch(1);
            CompletableFuture<HttpResponse<String>> running = send(http, port);
            assertTrue(model.started.await(30, TimeUnit.SECONDS));
            CompletableFuture<HttpResponse<String>> queued = send(http, port);
            await(() -> metricsSay(port, "mnv3_queue_depth 1.0"), "one request is queued");
            Tools.Http refused = Tools.curl(url(port, "/v2/models/fake/infer"), body());
            assertEquals(429, refused.status(), refused.text());
            assertTrue(refused.text().startsWith("{\"error\":\"the queue is full"), refused.text());
            assertTrue(refused.headers().toLowerCase().contains("retry-after: 1"), refused.headers());
            model.gate.countDown();
            assertEquals(200, running.get(30, TimeUnit.SECONDS).statusCode());
            assertEquals(200, queued.get(30, TimeUnit.SECONDS).statusCode());
            assertTrue(metricsSay(port, "mnv3_request_failures_total{protocol=\"rest\",reason=\"overloaded\"} 1.0"));
        }
    }

    @Test
    void drainingAnswersWhatIsInFlightAndRefusesNewRequests() throws Exception {
        FakeModel model = new FakeModel();
        InferenceServer server = start(model, new BatchPolicy(1, 0, 8), 0);
        int port = server.httpPort();
        try (HttpClient http = HttpClient.newHttpClient()) {
            model.gate = new CountDownLatch(1);
            CompletableFuture<HttpResponse<String>> a = send(http, port), b = send(http, port);
            await(() -> server.state().inFlight() == 2, "two requests are in flight");
            CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
            await(() -> server.state().phase() == ServerState.Phase.DRAINING, "the server drains");
            Tools.Http refused = Tools.curl(url(port, "/v2/models/fake/infer"), body());
            assertEquals(503, refused.status(), refused.text());
            assertTrue(refused.text().contains("shutting down"), refused.text());
            assertEquals(400, Tools.curl(url(port, "/v2/health/ready"), null).status());
            assertTrue(!closing.isDone(), "close waits for the requests in flight");
            model.gate.countDown();
            assertEquals(200, a.get(30, TimeUnit.SECONDS).statusCode());
            assertEquals(200, b.get(30, TimeUnit.SECONDS).statusCode());
            closing.get(30, TimeUnit.SECONDS);
            assertEquals(ServerState.Phase.STOPPED, server.state().phase());
        }
    }

    private static boolean metricsSay(int port, String line) {
        try {
            return Tools.curl(url(port, "/metrics"), null).text().lines().anyMatch(l -> l.equals(line));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
