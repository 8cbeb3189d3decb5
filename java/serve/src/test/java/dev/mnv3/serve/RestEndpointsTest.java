package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Json;
import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.tensor.Tensor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** KServe v2 REST through curl, a client nobody here wrote: JSON, binary tensor data, images, documents and every bad input. */
class RestEndpointsTest {
    private static final int MAX_BODY = 1 << 20;
    private static TestServer s;
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        Tools.require("curl");
        s = new TestServer(TestServer.config(new BatchPolicy(4, 0, 64), MAX_BODY).withProbePort(0), 1, false, CoreImageDecoder.DEFAULT);
    }

    @AfterAll
    static void stop() {
        if (s != null) s.close();
    }

    private static Path file(String name, byte[] content) throws Exception {
        return Files.write(dir.resolve(name), content);
    }

    private static Path file(String name, String content) throws Exception {
        return file(name, content.getBytes(StandardCharsets.UTF_8));
    }

    private static Tools.Http post(Path body, String... headers) throws Exception {
        return Tools.curl(s.url("/v2/models/small/infer"), body, headers);
    }

    private static Tools.Http postBinary(String name, Bodies.Binary b) throws Exception {
        return post(file(name, b.body()), "Content-Type: application/octet-stream", "Inference-Header-Content-Length: " + b.headerLength());
    }

    private static Map<String, Object> json(Tools.Http r) {
        return object(r.text());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(String text) {
        return (Map<String, Object>) Json.parse(text);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> firstOutput(Map<String, Object> response) {
        return (Map<String, Object>) ((List<Object>) response.get("outputs")).getFirst();
    }

    private static float[] data(Map<String, Object> output) {
        List<?> d = (List<?>) output.get("data");
        float[] v = new float[d.size()];
        for (int i = 0; i < v.length; i++) v[i] = ((Number) d.get(i)).floatValue();
        return v;
    }

    @Test
    void healthMetadataAndConfiguration() throws Exception {
        assertEquals(200, Tools.curl(s.url("/v2/health/live"), null).status());
        assertEquals(200, Tools.curl(s.url("/v2/health/ready"), null).status());
        assertEquals(200, Tools.curl(s.url("/v2/models/small/ready"), null).status());
        Map<String, Object> server = json(Tools.curl(s.url("/v2"), null));
        assertEquals("mnv3", server.get("name"));
        assertTrue(((List<?>) server.get("extensions")).contains("binary_tensor_data"));
        Map<String, Object> meta = json(Tools.curl(s.url("/v2/models/small"), null));
        assertEquals("small", meta.get("name"));
        assertEquals(List.of("1"), meta.get("versions"));
        assertEquals("{name=input, datatype=FP32, shape=[-1, 3, -1, -1]}", ((List<?>) meta.get("inputs")).getFirst().toString());
        assertEquals("{name=logits, datatype=FP32, shape=[-1, 1000]}", ((List<?>) meta.get("outputs")).getFirst().toString());
        assertEquals(200, Tools.curl(s.url("/v2/models/small/versions/1"), null).status());
        Map<String, Object> config = json(Tools.curl(s.url("/v2/models/small/config"), null));
        assertEquals(4L, config.get("max_batch_size"));
        assertEquals("{preferred_batch_size=[4], max_queue_delay_microseconds=0, default_queue_policy={max_queue_size=64}}",
                config.get("dynamic_batching").toString());
        Tools.Http unknown = Tools.curl(s.url("/v2/models/large"), null);
        assertEquals(404, unknown.status());
        assertTrue(unknown.text().contains("unknown model 'large'"), unknown.text());
        assertEquals(404, Tools.curl(s.url("/v2/nothing"), null).status());
        assertEquals(405, Tools.curl(s.url("/v2/models/small/ready"), file("post.json", "{}")).status());
        assertEquals(405, Tools.curl(s.url("/v2/models/small/infer"), null).status());
    }

    /** The probe port answers the health checks and the metrics, and nothing else: every other path is 404 with an error body. */
    @Test
    void theProbePortAnswersHealthAndMetricsOnly() throws Exception {
        String probes = "http://127.0.0.1:" + s.server.probePort();
        assertTrue(s.server.probePort() > 0 && s.server.probePort() != s.server.httpPort(), "probe port " + s.server.probePort());
        for (String health : List.of("/v2/health/live", "/v2/health/ready", "/v2/models/small/ready", "/v2/models/small/versions/1/ready")) {
            Tools.Http r = Tools.curl(probes + health, null);
            assertEquals(200, r.status(), health + ": " + r.text());
            assertEquals("", r.text(), health);
        }
        Tools.Http m = Tools.curl(probes + "/metrics", null);
        assertEquals(200, m.status());
        assertTrue(m.text().lines().anyMatch(l -> l.startsWith("mnv3_queue_depth ")), m.text());
        assertEquals(404, Tools.curl(probes + "/v2/models/large/ready", null).status(), "an unknown model is not ready here either");
        Path body = file("probe.json", Bodies.json(TestServer.input(1, 52), null));
        for (String path : List.of("/v2", "/v2/models/small", "/v2/models/small/config", "/v2/models/small/stats", "/v2/models/small/infer",
                "/v2/nothing")) {
            Tools.Http r = path.endsWith("/infer") ? Tools.curl(probes + path, body) : Tools.curl(probes + path, null);
            assertEquals(404, r.status(), path + ": " + r.text());
            assertEquals("no endpoint " + path + " on the probe port: it answers /v2/health/live, /v2/health/ready, "
                    + "/v2/models/{name}/ready and /metrics", object(r.text()).get("error"), path);
        }
        assertEquals(200, post(body).status(), "the REST port serves what the probe port refuses");
    }

    @Test
    void jsonAndBinaryInferenceMatchTheModel() throws Exception {
        Tensor x = TestServer.input(2, 11);
        Tensor expected = s.expected(x), other = s.expected(TestServer.input(2, 12));

        Tools.Http json = post(file("x.json", Bodies.json(x, null)), "Content-Type: application/json");
        assertEquals(200, json.status(), json.text());
        Map<String, Object> out = firstOutput(json(json));
        assertEquals("logits", out.get("name"));
        assertEquals(List.of(2L, 1000L), out.get("shape"));
        Bodies.assertParity("REST JSON", data(out), expected, other);

        Tools.Http bin = postBinary("x.bin", Bodies.binary(x, null));
        assertEquals(200, bin.status(), bin.text());
        int headerLength = Integer.parseInt(bin.headers().lines().filter(l -> l.toLowerCase().startsWith("inference-header-content-length:"))
                .findFirst().orElseThrow().split(":")[1].trim());
        Map<String, Object> header = object(new String(bin.body(), 0, headerLength, StandardCharsets.UTF_8));
        Map<String, Object> o = firstOutput(header);
        assertEquals(4000L * 2, ((Map<?, ?>) o.get("parameters")).get("binary_data_size"));
        Bodies.assertParity("REST binary", Bodies.floats(bin.body(), headerLength, bin.body().length - headerLength), expected, other);
    }

    @Test
    void fp16InputIsWidenedAsClientsRoundIt() throws Exception {
        Tensor x = TestServer.input(1, 21);
        Tensor rounded = new Tensor(x.shape(), x.data().clone());
        for (int i = 0; i < rounded.size(); i++) rounded.data()[i] = Float.float16ToFloat(Float.floatToFloat16(rounded.data()[i]));
        java.nio.ByteBuffer raw = java.nio.ByteBuffer.allocate(2 * x.size()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float v : x.data()) raw.putShort(Float.floatToFloat16(v));
        Bodies.Binary b = Bodies.binary("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP16\",\"shape\":[1,3,64,64],"
                + "\"parameters\":{\"binary_data_size\":" + raw.capacity() + "}}]}", raw.array());
        Tools.Http r = postBinary("fp16.bin", b);
        assertEquals(200, r.status(), r.text());
        Bodies.assertParity("FP16 input", data(firstOutput(json(r))), s.expected(rounded), s.expected(TestServer.input(1, 22)));
    }

    @Test
    void imagesAreDecodedAndPreprocessedAsClassifyDoes() throws Exception {
        byte[] png = Bodies.image(97, 80, 1, "png"), jpg = Bodies.image(80, 120, 2, "jpg");
        Tensor expectedPng = s.expected(Bodies.classifyInput(png)), expectedJpg = s.expected(Bodies.classifyInput(jpg));

        Bodies.Binary two = Bodies.binary("{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[2,1],\"parameters\":"
                + "{\"binary_data_size\":" + (8 + png.length + jpg.length) + "}}]}", Bodies.bytesElement(png), Bodies.bytesElement(jpg));
        Tools.Http r = postBinary("images.bin", two);
        assertEquals(200, r.status(), r.text());
        float[] logits = data(firstOutput(json(r)));
        Bodies.assertParity("PNG", java.util.Arrays.copyOfRange(logits, 0, 1000), expectedPng, expectedJpg);
        Bodies.assertParity("JPEG", java.util.Arrays.copyOfRange(logits, 1000, 2000), expectedJpg, expectedPng);

        // JSON carries the bytes as base64; top-3 through Triton's classification extension
        String body = "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\""
                + Base64.getEncoder().encodeToString(png) + "\"]}],\"outputs\":[{\"name\":\"logits\",\"parameters\":{\"classification\":3}}]}";
        Tools.Http top = post(file("image.json", body));
        assertEquals(200, top.status(), top.text());
        Map<String, Object> out = firstOutput(json(top));
        assertEquals("BYTES", out.get("datatype"));
        assertEquals(List.of(1L, 3L), out.get("shape"));
        float[] p = expectedPng.data();
        List<Integer> best = IntStream.range(0, 1000).boxed().sorted(Comparator.comparingDouble(c -> -p[c])).limit(3).toList();
        List<?> labels = (List<?>) out.get("data");
        for (int k = 0; k < 3; k++) {
            String[] f = labels.get(k).toString().split(":", 3);
            assertEquals(best.get(k), Integer.parseInt(f[1]), "class " + k + " of " + labels);
            assertEquals(p[best.get(k)], Float.parseFloat(f[0]), 1e-5 * Math.abs(p[best.get(k)]) + 1e-6);
            assertEquals(dev.mnv3.core.image.ImageNetClasses.name(best.get(k), 1000), f[2]);
        }
    }

    @Test
    void featureMapsWhenAskedFor() throws Exception {
        Tensor x = TestServer.input(1, 31);
        Map<String, Tensor> trace = s.reference.trace(x), other = s.reference.trace(TestServer.input(1, 32));
        FeatureLevel level = s.graph.featureLevels().get(2);
        Tools.Http r = post(file("features.json", Bodies.json(x, "[{\"name\":\"stride8\"},{\"name\":\"logits\"}]")));
        assertEquals(200, r.status(), r.text());
        List<?> outputs = (List<?>) json(r).get("outputs");
        Map<?, ?> f = (Map<?, ?>) outputs.get(0);
        assertEquals("stride8", f.get("name"));
        assertEquals(List.of(1L, (long) level.channels(), 8L, 8L), f.get("shape"));
        @SuppressWarnings("unchecked")
        float[] served = data((Map<String, Object>) f);
        Bodies.assertParity("stride8", served, trace.get(level.node()), other.get(level.node()));
        assertEquals("logits", ((Map<?, ?>) outputs.get(1)).get("name"));
    }

    /** Every bad request gets 400 with KServe's error body naming the problem, and the server goes on serving. */
    @Test
    void badInputsGet400WithAnErrorBodyAndTheServerKeepsServing() throws Exception {
        Tensor x = TestServer.input(1, 41);
        String good = Bodies.json(x, null);
        byte[] raw = Bodies.littleEndian(x.data());
        String binHeader = "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3,64,64],\"parameters\":{\"binary_data_size\":"
                + raw.length + "}}]}";
        record Case(String name, Tools.Http answer, String says) {
        }
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("malformed JSON", post(file("b1", "{\"inputs\": [")), "malformed JSON"));
        cases.add(new Case("not an object", post(file("b2", "[1, 2]")), "must be a JSON object"));
        cases.add(new Case("trailing data", post(file("b3", good + " 1")), "after the JSON object"));
        cases.add(new Case("no inputs", post(file("b4", "{\"outputs\": []}")), "no 'inputs'"));
        cases.add(new Case("wrong shape", post(file("b5", good.replace("[1,3,64,64]", "[1,4,64,48]"))), "3 channels"));
        cases.add(new Case("rank 3", post(file("b6", good.replace("[1,3,64,64]", "[3,64,64]"))), "[N,3,H,W]"));
        cases.add(new Case("shape and data disagree", post(file("b7", good.replace("[1,3,64,64]", "[1,3,64,32]"))), "holds 12288"));
        cases.add(new Case("too small", post(file("b8", Bodies.json(TestServer.input(1, 1).reshape(1, 3, 16, 256), null))),
                "too small"));
        cases.add(new Case("datatype not supported", post(file("b9", good.replace("FP32", "INT32"))), "INT32 is not supported"));
        cases.add(new Case("BYTES for the tensor input", post(file("b10", good.replace("FP32", "BYTES"))), "must be strings"));
        cases.add(new Case("unknown model", Tools.curl(s.url("/v2/models/large/infer"), file("b11", good)), "unknown model 'large'"));
        cases.add(new Case("unknown version", Tools.curl(s.url("/v2/models/small/versions/2/infer"), file("b12", good)), "no version '2'"));
        cases.add(new Case("unknown input", post(file("b13", good.replace("\"input\"", "\"pixels\""))), "unknown input 'pixels'"));
        cases.add(new Case("two inputs", post(file("b14", "{\"inputs\":[" + good.substring(11, good.length() - 2) + ","
                + good.substring(11, good.length() - 2) + "]}")), "has 2 inputs"));
        cases.add(new Case("unknown output", post(file("b15", Bodies.json(x, "[{\"name\":\"probs\"}]"))), "unknown output 'probs'"));
        cases.add(new Case("classification out of range", post(file("b16", Bodies.json(x,
                "[{\"name\":\"logits\",\"parameters\":{\"classification\":1001}}]"))), "classification must be from 1 to 1000"));
        cases.add(new Case("mixed data", post(file("b17", good.replaceFirst("\"data\":\\[", "\"data\":[\"a\","))),
                "mixes numbers and strings"));
        cases.add(new Case("batch over the max", post(file("b18", Bodies.json(TestServer.input(5, 2), null))), "at most 4 images"));
        cases.add(new Case("body over the limit", post(file("b19", new byte[MAX_BODY + 1])), "limit is " + MAX_BODY));
        Bodies.Binary bin = Bodies.binary(binHeader, raw, new byte[8]);
        cases.add(new Case("binary sizes do not add up", postBinary("b20", bin), "add up to " + raw.length));
        Bodies.Binary shortBin = Bodies.binary(binHeader, java.util.Arrays.copyOf(raw, raw.length - 4));
        cases.add(new Case("binary data too short", postBinary("b21", shortBin), "exceeds"));
        cases.add(new Case("header length past the body", post(file("b22", Bodies.binary(binHeader, raw).body()),
                "Inference-Header-Content-Length: 999999"), "but the body has"));
        cases.add(new Case("header length not a number", post(file("b23", good), "Inference-Header-Content-Length: ten"), "must be a number"));
        cases.add(new Case("binary size without header", post(file("b24", binHeader)), "exceeds the 0 bytes"));
        cases.add(new Case("undecodable image", post(file("b25", "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],"
                + "\"data\":[\"" + Base64.getEncoder().encodeToString("no image".getBytes()) + "\"]}]}")), "element 0"));
        cases.add(new Case("not base64", post(file("b26", "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],"
                + "\"data\":[\"***\"]}]}")), "nor base64 of one"));
        cases.add(new Case("truncated PNG", post(file("b27", "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],"
                + "\"data\":[\"" + Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(Bodies.image(64, 64, 3, "png"), 200))
                + "\"]}]}")), "cannot decode"));
        cases.add(new Case("BYTES length overrun", postBinary("b28", Bodies.binary("{\"inputs\":[{\"name\":\"image\",\"datatype\":"
                + "\"BYTES\",\"shape\":[1],\"parameters\":{\"binary_data_size\":6}}]}", new byte[] {(byte) 200, 0, 0, 0, 1, 2})), "declares 200"));
        cases.add(new Case("image shape", post(file("b29", "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1,2],"
                + "\"data\":[\"AA==\",\"AA==\"]}]}")), "[N] or [N,1]"));
        for (Case c : cases) {
            assertEquals(400, c.answer.status(), c.name + ": " + c.answer.text());
            assertTrue(c.answer.headers().toLowerCase().contains("content-type: application/json"), c.name + ": " + c.answer.headers());
            Map<String, Object> body = json(c.answer);
            assertEquals(List.of("error"), List.copyOf(body.keySet()), c.name + ": " + c.answer.text());
            assertTrue(body.get("error").toString().contains(c.says), c.name + ": expected '" + c.says + "' in " + body.get("error"));
        }
        Tools.Http ok = post(file("good.json", good));
        assertEquals(200, ok.status(), "after the bad requests: " + ok.text());
        Bodies.assertParity("after the bad requests", data(firstOutput(json(ok))), s.expected(x), s.expected(TestServer.input(1, 42)));
    }

    @Test
    void metricsAndStatisticsCountWhatHappened() throws Exception {
        Tensor x = TestServer.input(1, 51);
        assertEquals(200, post(file("m1.json", Bodies.json(x, null))).status());
        assertEquals(400, post(file("m2.json", "{")).status());
        Tools.Http m = Tools.curl(s.url("/metrics"), null);
        assertEquals(200, m.status());
        assertTrue(m.headers().toLowerCase().contains("content-type: text/plain; version=0.0.4"), m.headers());
        String text = m.text();
        for (String line : List.of("mnv3_requests_total{protocol=\"rest\"}", "mnv3_request_failures_total{protocol=\"rest\",reason=\"bad_request\"}",
                "mnv3_batch_size_bucket{le=\"1.0\"}", "mnv3_queue_duration_seconds_count", "mnv3_compute_duration_seconds_count",
                "mnv3_request_duration_seconds_count{protocol=\"rest\"}", "mnv3_queue_depth 0", "jvm_buffer_pool_used_bytes{pool=\"direct\"}")) {
            assertTrue(text.lines().anyMatch(l -> l.startsWith(line)), line + " missing from\n" + text);
        }
        double served = metric(text, "mnv3_batch_size_count");
        assertTrue(served >= 1, "batches counted: " + served);
        Map<String, Object> stats = json(Tools.curl(s.url("/v2/models/small/stats"), null));
        Map<?, ?> model = (Map<?, ?>) ((List<?>) stats.get("model_stats")).getFirst();
        assertEquals("small", model.get("name"));
        assertTrue(((Number) model.get("inference_count")).longValue() >= 1, stats.toString());
        Map<?, ?> inference = (Map<?, ?>) model.get("inference_stats");
        assertTrue(((Number) ((Map<?, ?>) inference.get("success")).get("count")).longValue() >= 1, stats.toString());
        assertTrue(((Number) ((Map<?, ?>) inference.get("fail")).get("count")).longValue() >= 1, stats.toString());
    }

    static double metric(String text, String name) {
        return text.lines().filter(l -> l.startsWith(name + " ")).mapToDouble(l -> Double.parseDouble(l.substring(name.length() + 1)))
                .findFirst().orElseThrow(() -> new AssertionError(name + " missing"));
    }
}
