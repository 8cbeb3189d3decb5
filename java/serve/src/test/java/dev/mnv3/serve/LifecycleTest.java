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
        return start(model, new ServerConfig("127.0.0.1", httpPort, 0, 1 << 20, policy, Duration.ofSeconds(30)));
    }

    private static InferenceServer start(FakeModel model, ServerConfig config) throws Exception {
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

    /**
     * Admission before work: with one request being received (a client that sent half its body)
     * and a limit of one, the next is refused at once, before its body is parsed, over both
     * protocols (429 with Retry-After; RESOURCE_EXHAUSTED with gRPC's retry pushback), while health
     * checks answer; once the first has arrived it is served, and so is the next.
     */
    @Test
    void aRequestPastTheReceivingLimitIsRefusedBeforeItIsRead() throws Exception {
        FakeModel model = new FakeModel();
        ServerConfig c = new ServerConfig("127.0.0.1", 0, 0, 1 << 20, new BatchPolicy(1, 0, 8), Duration.ofSeconds(30));
        byte[] body = BODY.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (InferenceServer server = start(model, c.withLimits(c.limits().withReceiving(1, 1 << 30)));
             java.net.Socket slow = new java.net.Socket("127.0.0.1", server.httpPort())) {
            int port = server.httpPort();
            java.io.OutputStream out = slow.getOutputStream();
            out.write(("POST /v2/models/fake/infer HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " + body.length
                    + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.write(body, 0, body.length / 2);
            out.flush();
            await(() -> metricsSay(port, "mnv3_requests_receiving 1.0"), "the slow request is being received");

            Tools.Http refused = Tools.curl(url(port, "/v2/models/fake/infer"), body());
            assertEquals(429, refused.status(), refused.text());
            assertTrue(refused.text().startsWith("{\"error\":\"the server is receiving 1 requests"), refused.text());
            assertTrue(refused.headers().toLowerCase().contains("retry-after: 1"), refused.headers());
            assertEquals(200, Tools.curl(url(port, "/v2/health/live"), null).status());

            io.grpc.ManagedChannel channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1",
                    server.grpcPort()).usePlaintext().build();
            try {
                var stub = dev.mnv3.serve.grpc.proto.GRPCInferenceServiceGrpc.newBlockingStub(channel);
                io.grpc.StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
                        () -> stub.modelInfer(dev.mnv3.serve.grpc.proto.ModelInferRequest.newBuilder().setModelName("fake").build()));
                assertEquals(io.grpc.Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.toString());
                assertTrue(e.getStatus().getDescription().startsWith("the server is receiving 1 requests"), e.toString());
                assertEquals("1000", e.getTrailers().get(io.grpc.Metadata.Key.of("grpc-retry-pushback-ms", io.grpc.Metadata.ASCII_STRING_MARSHALLER)));
            } finally {
                channel.shutdownNow();
            }

            out.write(body, body.length / 2, body.length - body.length / 2);
            out.flush();
            String answer = new String(slow.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
            assertEquals(200, Tools.curl(url(port, "/v2/models/fake/infer"), body()).status());
            assertTrue(metricsSay(port, "mnv3_request_failures_total{protocol=\"rest\",reason=\"overloaded\"} 1.0"));
            assertTrue(metricsSay(port, "mnv3_request_failures_total{protocol=\"grpc\",reason=\"overloaded\"} 1.0"));
        }
    }

    /**
     * Health checks, metadata and scrapes answer while every CPU thread of the server is busy (here
     * spinning in an image decode that the test holds) and more requests wait for them: they are
     * answered on Jetty's threads, never behind request work. Where requests' work ran on the
     * virtual threads' few carriers, a health check waited for it.
     */
    @Test
    void healthAnswersWhileEveryCpuThreadIsBusy() throws Exception {
        int threads = Runtime.getRuntime().availableProcessors();
        CountDownLatch spinning = new CountDownLatch(threads);
        java.util.concurrent.atomic.AtomicBoolean release = new java.util.concurrent.atomic.AtomicBoolean();
        RequestImageDecoder busy = (encoded, prep) -> {
            spinning.countDown();
            while (!release.get()) Thread.onSpinWait();
            return new float[3 * prep.crop() * prep.crop()];
        };
        ServerConfig c = new ServerConfig("127.0.0.1", 0, 0, 1 << 20, new BatchPolicy(4, 0, 64), Duration.ofSeconds(30));
        String image = "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"iVBORw0KGgo=\"]}]}";
        try (InferenceServer server = InferenceServer.start(c, new ServedModel("fake", FakeModel.GRAPH, TestServer.PREPROCESSING, "fake"),
                ModelInstances.of(List.of(new FakeModel())), busy); HttpClient http = HttpClient.newHttpClient()) {
            int port = server.httpPort();
            List<CompletableFuture<HttpResponse<String>>> sent = new java.util.ArrayList<>();
            for (int i = 0; i < threads + 2; i++) {
                sent.add(http.sendAsync(HttpRequest.newBuilder(URI.create(url(port, "/v2/models/fake/infer")))
                        .POST(HttpRequest.BodyPublishers.ofString(image)).build(), HttpResponse.BodyHandlers.ofString()));
            }
            try {
                assertTrue(spinning.await(30, TimeUnit.SECONDS), "every CPU thread is decoding");
                for (String path : List.of("/v2/health/live", "/v2/health/ready", "/v2/models/fake", "/metrics")) {
                    assertEquals(200, Tools.curl(url(port, path), null).status(), path);
                }
            } finally {
                release.set(true);
            }
            for (CompletableFuture<HttpResponse<String>> f : sent) assertEquals(200, f.get(30, TimeUnit.SECONDS).statusCode());
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
