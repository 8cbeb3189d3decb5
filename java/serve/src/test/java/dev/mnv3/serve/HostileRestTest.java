package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Json;
import dev.mnv3.core.tensor.Tensor;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * REST requests as an attacker writes them, through curl and raw sockets: every limit of the
 * JSON parser, values the model cannot take, and what Jetty itself refuses. Each is a 4xx with
 * KServe's one-line {@code {"error"}} body, none is counted as the server's own fault, nothing
 * is logged with a stack trace, and the server goes on serving.
 */
class HostileRestTest {
    private static final int MAX_BODY = 24 << 20;

    @TempDir
    Path dir;

    private static TestServer server(boolean nonFinite) throws Exception {
        ServerConfig c = TestServer.config(new BatchPolicy(4, 0, 64), MAX_BODY);
        return new TestServer(c.withLimits(c.limits().withIdleTimeout(Duration.ofSeconds(1))), 1, nonFinite, CoreImageDecoder.DEFAULT);
    }

    private Tools.Http post(TestServer s, String name, byte[] body, String... headers) throws Exception {
        return Tools.curl(s.url("/v2/models/small/infer"), Files.write(dir.resolve(name), body), headers);
    }

    private Tools.Http post(TestServer s, String name, String body) throws Exception {
        return post(s, name, body.getBytes(StandardCharsets.UTF_8), "Content-Type: application/json");
    }

    /** One image [1,3,64,64] as JSON, zeros but for {@code value} (as written) at flat index {@code at}. */
    private static String json(int at, String value) {
        return "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3,64,64],\"data\":[" + "0,".repeat(at) + value
                + ",0".repeat(3 * 64 * 64 - at - 1) + "]}]}";
    }

    private static Bodies.Binary binary(String datatype, byte[] raw) {
        return Bodies.binary("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"" + datatype + "\",\"shape\":[1,3,64,64],"
                + "\"parameters\":{\"binary_data_size\":" + raw.length + "}}]}", raw);
    }

    /** What a raw socket reads back for {@code request}, written as it is, the connection held open until the server closes it. */
    private static String raw(TestServer s, String request) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", s.server.httpPort())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    record Case(String name, int status, String answer, String says) {
    }

    @Test
    void everyHostileRequestIsAClientErrorWithAOneLineJsonBody() throws Exception {
        List<Case> cases = new ArrayList<>();
        String nested = "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":" + "[".repeat(70) + "1"
                + "]".repeat(70) + "}]}";
        String metrics;
        try (LogCapture log = new LogCapture(); TestServer s = server(false)) {
            add(cases, "nested 70 deep", post(s, "n", nested), 400, "Document nesting depth (65) exceeds the maximum allowed (64)");
            add(cases, "string over the limit", post(s, "s", "{\"id\":\"" + "a".repeat(20_000_001) + "\",\"inputs\":[]}"), 400,
                    "String value length (20000001) exceeds the maximum allowed (20000000)");
            add(cases, "number over the limit", post(s, "l", json(0, "1".repeat(1001))), 400,
                    "Number value length (1001) exceeds the maximum allowed (1000)");
            add(cases, "400 digits", post(s, "d", json(0, "9".repeat(400))), 400, "element 0 [0, 0, 0, 0] is Infinity");
            add(cases, "beyond FP32", post(s, "e", json(3, "1e39")), 400, "element 3 [0, 0, 0, 3] is Infinity");
            add(cases, "not UTF-8", post(s, "u", ("{\"id\":\"\u00ff\"}").getBytes(StandardCharsets.ISO_8859_1)), 400, "malformed JSON");
            float[] nan = new float[3 * 64 * 64];
            nan[9 + 64 * 64] = Float.NaN;
            Bodies.Binary b = binary("FP32", Bodies.littleEndian(nan));
            add(cases, "NaN in binary FP32", post(s, "b", b.body(), "Inference-Header-Content-Length: " + b.headerLength()), 400,
                    "element 4105 [0, 1, 0, 9] is NaN");
            ByteBuffer half = ByteBuffer.allocate(2 * 3 * 64 * 64).order(ByteOrder.LITTLE_ENDIAN);
            half.putShort(4, Float.floatToFloat16(Float.NEGATIVE_INFINITY));
            Bodies.Binary h = binary("FP16", half.array());
            add(cases, "-Infinity in binary FP16", post(s, "h", h.body(), "Inference-Header-Content-Length: " + h.headerLength()), 400,
                    "element 2 [0, 0, 0, 2] is -Infinity");
            add(cases, "POST to no endpoint", Tools.curl(s.url("/v2/nothing"), Files.writeString(dir.resolve("p"), "{}")), 404, "no endpoint");
            add(cases, "URI too long", Tools.curl(s.url("/v2/" + "a".repeat(10_000)), null), 414, "URI Too Long");
            add(cases, "headers too large", Tools.curl(s.url("/v2"), null, "X-Big: " + "a".repeat(10_000)), 431,
                    "Request Header Fields Too Large");
            add(cases, "ambiguous path", Tools.curl(s.url("/v2/models/%2e%2e/infer"), null, "--path-as-is"), 400, "Bad Request");
            String stalled = raw(s, "POST /v2/models/small/infer HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 100\r\n\r\n{\"inputs\"");
            cases.add(new Case("stalled upload", status(stalled), body(stalled), "the request body stopped arriving"));
            String chunked = raw(s, "POST /v2/models/small/infer HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
            cases.add(new Case("broken chunked encoding", status(chunked), body(chunked), "could not read the request body"));

            Tensor x = TestServer.input(1, 91);
            Tools.Http ok = post(s, "ok", Bodies.json(x, null));
            assertEquals(200, ok.status(), "after the hostile requests: " + ok.text());
            metrics = Tools.curl(s.url("/metrics"), null).text();
            log.assertNoStackTraces("REST");
        }
        for (Case c : cases) {
            assertTrue(c.status >= 400 && c.status < 500, c.name + ": " + c.status + " " + c.answer);
            @SuppressWarnings("unchecked")
            Map<String, Object> body = (Map<String, Object>) Json.parse(c.answer);
            assertEquals(List.of("error"), List.copyOf(body.keySet()), c.name + ": " + c.answer);
            String error = body.get("error").toString();
            assertTrue(error.contains(c.says), c.name + ": expected '" + c.says + "' in " + error);
            assertEquals(1, error.lines().count(), c.name + ": " + error);
        }
        assertEquals(List.of(400, 400, 400, 400, 400, 400, 400, 400, 404, 414, 431, 400, 408, 400), cases.stream().map(Case::status).toList());
        assertTrue(metrics.lines().noneMatch(l -> l.contains("reason=\"internal\"")), "a client's request counted as ours:\n" + metrics);
        // the inference requests and what Jetty refused are counted, as failed requests
        assertTrue(RestEndpointsTest.metric(metrics, "mnv3_request_failures_total{protocol=\"rest\",reason=\"bad_request\"}") >= 11, metrics);
        assertTrue(RestEndpointsTest.metric(metrics, "mnv3_request_failures_total{protocol=\"rest\",reason=\"timeout\"}") >= 1, metrics);
    }

    private static void add(List<Case> cases, String name, Tools.Http answer, int status, String says) {
        assertEquals(status, answer.status(), name + ": " + answer.text());
        cases.add(new Case(name, answer.status(), answer.text(), says));
    }

    private static int status(String response) {
        assertTrue(response.startsWith("HTTP/1.1 "), response);
        return Integer.parseInt(response.substring(9, 12));
    }

    private static String body(String response) {
        return response.substring(response.indexOf("\r\n\r\n") + 4);
    }

    /**
     * Where the model allows non-finite inputs, their NaN outputs go out as JSON null (JSON has no
     * NaN, and a number tensor never holds the string "NaN"), and as they are in binary data.
     */
    @Test
    void nonFiniteOutputsAreNullInJson() throws Exception {
        try (TestServer s = server(true)) {
            Tools.Http r = post(s, "inf", json(0, "1e39"));
            assertEquals(200, r.status(), r.text());
            assertFalse(r.text().contains("NaN") || r.text().contains("Infinity"), r.text().substring(0, 300));
            @SuppressWarnings("unchecked")
            Map<String, Object> answer = (Map<String, Object>) Json.parse(r.text());
            List<?> data = (List<?>) ((Map<?, ?>) ((List<?>) answer.get("outputs")).getFirst()).get("data");
            assertEquals(1000, data.size());
            assertTrue(data.stream().allMatch(v -> v == null), "every logit of an infinite input is NaN, written null: " + data.subList(0, 5));

            float[] inf = new float[3 * 64 * 64];
            inf[0] = Float.POSITIVE_INFINITY;
            byte[] raw = Bodies.littleEndian(inf);
            Bodies.Binary b = Bodies.binary("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3,64,64],\"parameters\":"
                    + "{\"binary_data_size\":" + raw.length + "}}],\"parameters\":{\"binary_data_output\":true}}", raw);
            Tools.Http bin = post(s, "bin", b.body(), "Inference-Header-Content-Length: " + b.headerLength());
            assertEquals(200, bin.status(), bin.text());
            float[] logits = Bodies.floats(bin.body(), bin.body().length - 4000, 4000);
            assertTrue(Float.isNaN(logits[0]) && Float.isNaN(logits[999]), "binary data carry NaN as it is");
        }
    }
}
