package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Json;
import dev.mnv3.core.tensor.Tensor;
import io.grpc.Status;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gRPC through Node's @grpc/grpc-js with @grpc/proto-loader reading our proto: a client nobody
 * here wrote, so names, field numbers and raw contents are checked on the wire. The script
 * (src/test/node/grpc_client.js) makes the calls; this test judges what came back.
 */
class GrpcClientTest {
    private static final int MAX_BODY = 256 * 1024;

    @TempDir
    Path dir;

    @Test
    void aNodeClientInfersAndEveryBadRequestIsInvalidArgument() throws Exception {
        String node = Tools.requireNode();
        Tensor x = TestServer.input(1, 61);
        byte[] png = Bodies.image(90, 70, 5, "png");
        Files.writeString(dir.resolve("case.json"), "{\"height\": 64, \"width\": 64, \"maxBodyBytes\": " + MAX_BODY + "}");
        Files.write(dir.resolve("input.f32"), Bodies.littleEndian(x.data()));
        ByteBuffer half = ByteBuffer.allocate(2 * x.size()).order(ByteOrder.LITTLE_ENDIAN);
        Tensor rounded = new Tensor(x.shape(), x.data().clone());
        for (int i = 0; i < x.size(); i++) {
            half.putShort(Float.floatToFloat16(x.data()[i]));
            rounded.data()[i] = Float.float16ToFloat(Float.floatToFloat16(x.data()[i]));
        }
        Files.write(dir.resolve("input.f16"), half.array());
        Files.write(dir.resolve("image.png"), png);

        Map<String, Object> r;
        String metrics;
        try (LogCapture log = new LogCapture(); TestServer s = new TestServer(new BatchPolicy(4, 0, 64), 1, MAX_BODY)) {
            Tools.Run run = Tools.run(List.of(node, Tools.NODE_PROJECT.resolve("grpc_client.js").toString(),
                    Integer.toString(s.server.grpcPort()), TestServer.NAME, dir.toString()), 120);
            assertEquals(0, run.exit(), run.toString());
            r = object(Files.readString(dir.resolve("results.json")));
            metrics = Tools.curl(s.url("/metrics"), null).text();
            log.assertNoStackTraces("gRPC");
            Tensor expected = s.expected(x), other = s.expected(TestServer.input(1, 62));

            assertEquals(true, response(r, "live").get("live"));
            assertEquals(true, response(r, "ready").get("ready"));
            assertEquals(true, response(r, "modelReady").get("ready"));
            assertEquals("mnv3", response(r, "serverMetadata").get("name"));
            Map<?, ?> meta = response(r, "modelMetadata");
            assertEquals("small", meta.get("name"));
            Map<?, ?> image0 = (Map<?, ?>) ((List<?>) meta.get("inputs")).get(1);
            assertEquals(List.of("image", "BYTES", List.of(-1L, 1L)), List.of(image0.get("name"), image0.get("datatype"), image0.get("shape")));
            assertEquals((long) Status.Code.NOT_FOUND.value(), ((Map<?, ?>) r.get("unknownModelMetadata")).get("code"));

            Map<?, ?> raw = (Map<?, ?>) r.get("raw");
            assertEquals("raw-1", raw.get("id"));
            assertEquals(List.of(1L, 1000L), raw.get("shape"));
            Bodies.assertParity("gRPC raw_input_contents", floats(raw), expected, other);
            Bodies.assertParity("gRPC fp32_contents", floats((Map<?, ?>) r.get("typed")), expected, other);
            Bodies.assertParity("gRPC FP16", floats((Map<?, ?>) r.get("fp16")), s.expected(rounded), other);
            Tensor image = s.expected(Bodies.classifyInput(png));
            Bodies.assertParity("gRPC image, raw", floats((Map<?, ?>) r.get("image")), image, expected);
            Bodies.assertParity("gRPC image, bytes_contents", floats((Map<?, ?>) r.get("imageTyped")), image, expected);
            Bodies.assertParity("gRPC after the bad requests", floats((Map<?, ?>) r.get("afterErrors")), expected, other);

            Map<?, ?> top = (Map<?, ?>) r.get("classification");
            assertEquals("BYTES", top.get("datatype"));
            assertEquals(List.of(1L, 3L), top.get("shape"));
            ByteBuffer labels = ByteBuffer.wrap(Base64.getDecoder().decode((String) top.get("raw"))).order(ByteOrder.LITTLE_ENDIAN);
            byte[] first = new byte[labels.getInt()];
            labels.get(first);
            int best = 0;
            for (int c = 1; c < 1000; c++) if (expected.data()[c] > expected.data()[best]) best = c;
            assertEquals(best, Integer.parseInt(new String(first).split(":")[1]), new String(first));

            Map<?, ?> features = (Map<?, ?>) r.get("features");
            assertEquals(0L, features.get("code"), features.toString());
            List<?> outs = (List<?>) features.get("outputs");
            assertEquals(List.of("stride8", List.of(1L, 24L, 8L, 8L)), List.of(((Map<?, ?>) outs.get(0)).get("name"), ((Map<?, ?>) outs.get(0)).get("shape")));
            assertEquals(List.of("logits", List.of(1L, 1000L)), List.of(((Map<?, ?>) outs.get(1)).get("name"), ((Map<?, ?>) outs.get(1)).get("shape")));
        }

        Map<?, ?> bad = (Map<?, ?>) r.get("bad");
        Map<String, String> says = Map.ofEntries(Map.entry("wrongShape", "3 channels"), Map.entry("rawSizeMismatch", "bytes of FP32"),
                Map.entry("rawCountMismatch", "one per input"), Map.entry("unknownInput", "unknown input 'pixels'"),
                Map.entry("unknownModel", "unknown model"), Map.entry("unknownOutput", "unknown output 'probabilities'"),
                Map.entry("wrongDatatype", "INT64 is not supported"), Map.entry("fp16Typed", "raw_input_contents only"),
                Map.entry("noData", "no contents"), Map.entry("noInputs", "no inputs"), Map.entry("undecodableImage", "element 0"),
                Map.entry("bytesLengthOverrun", "declares 255"), Map.entry("nanRaw", "element 5 [0, 0, 0, 5] is NaN"),
                Map.entry("infTyped", "element 7 [0, 0, 0, 7] is Infinity"));
        for (Map.Entry<String, String> e : says.entrySet()) {
            Map<?, ?> answer = (Map<?, ?>) bad.get(e.getKey());
            assertEquals((long) Status.Code.INVALID_ARGUMENT.value(), answer.get("code"), e.getKey() + ": " + answer);
            assertTrue(answer.get("details").toString().contains(e.getValue()), e.getKey() + ": " + answer);
        }
        // a message over --max-body-mb is refused by gRPC itself, with the status gRPC defines for it
        Map<?, ?> tooLarge = (Map<?, ?>) bad.get("tooLarge");
        assertEquals((long) Status.Code.RESOURCE_EXHAUSTED.value(), tooLarge.get("code"), tooLarge.toString());
        assertEquals((long) Status.Code.UNIMPLEMENTED.value(), ((Map<?, ?>) r.get("unimplemented")).get("code"));

        // bytes that are not a request: INVALID_ARGUMENT, one line; grpc-java's own framing errors: its status, never UNKNOWN
        Map<?, ?> proto = (Map<?, ?>) r.get("proto");
        for (String c : List.of("garbage", "truncated", "badUtf8", "deepNesting", "garbageMetadata")) {
            Map<?, ?> answer = (Map<?, ?>) proto.get(c);
            assertEquals((long) Status.Code.INVALID_ARGUMENT.value(), answer.get("code"), c + ": " + answer);
            assertTrue(answer.get("details").toString().contains("request is not a valid protobuf message"), c + ": " + answer);
            assertEquals(1, answer.get("details").toString().lines().count(), c + ": " + answer);
        }
        for (String c : List.of("compressedFlag", "shortFrame")) {
            long code = (Long) ((Map<?, ?>) proto.get(c)).get("code");
            assertTrue(code == Status.Code.INTERNAL.value() || code == Status.Code.INVALID_ARGUMENT.value(), c + ": " + proto.get(c));
        }
        assertTrue(metrics.lines().noneMatch(l -> l.startsWith("mnv3_request_failures_total{protocol=\"grpc\",reason=\"internal\"}")),
                "a client's request counted as the server's fault:\n" + metrics);
        double refused = RestEndpointsTest.metric(metrics, "mnv3_request_failures_total{protocol=\"grpc\",reason=\"bad_request\"}");
        // the bad requests, the four ModelInfer calls of bytes that are not one, the two broken frames, the message over the limit
        assertTrue(refused >= says.size() + 4 + 2 + 1, "every refused call counted, the transport's too: " + refused);

        // Triton's model configuration and statistics, as its own messages
        Map<?, ?> config = (Map<?, ?>) response(r, "modelConfig").get("config");
        assertEquals(List.of("small", "mnv3_safetensors", "mnv3", 4L), List.of(config.get("name"), config.get("platform"),
                config.get("backend"), config.get("max_batch_size")));
        Map<?, ?> in0 = (Map<?, ?>) ((List<?>) config.get("input")).get(0), in1 = (Map<?, ?>) ((List<?>) config.get("input")).get(1);
        assertEquals(List.of("input", 11L, 2L, List.of(3L, -1L, -1L), true), List.of(in0.get("name"), in0.get("data_type"),
                in0.get("format"), in0.get("dims"), in0.get("optional"))); // TYPE_FP32, FORMAT_NCHW
        assertEquals(List.of("image", 13L, List.of(1L)), List.of(in1.get("name"), in1.get("data_type"), in1.get("dims"))); // TYPE_STRING
        Map<?, ?> out0 = (Map<?, ?>) ((List<?>) config.get("output")).get(0);
        assertEquals(List.of("logits", 11L, List.of(1000L)), List.of(out0.get("name"), out0.get("data_type"), out0.get("dims")));
        Map<?, ?> batching = (Map<?, ?>) config.get("dynamic_batching");
        assertEquals(List.of(List.of(4L), 0L, 64L), List.of(batching.get("preferred_batch_size"),
                batching.get("max_queue_delay_microseconds"), ((Map<?, ?>) batching.get("default_queue_policy")).get("max_queue_size")));
        Map<?, ?> group = (Map<?, ?>) ((List<?>) config.get("instance_group")).get(0);
        assertEquals(List.of(2L, 1L), List.of(group.get("kind"), group.get("count"))); // KIND_CPU
        assertEquals("false", ((Map<?, ?>) ((Map<?, ?>) config.get("parameters")).get("allow_non_finite_inputs")).get("string_value"));
        assertEquals((long) Status.Code.NOT_FOUND.value(), ((Map<?, ?>) r.get("unknownModelConfig")).get("code"));
        for (String call : List.of("modelStatistics", "allStatistics")) {
            Map<?, ?> stats = (Map<?, ?>) ((List<?>) response(r, call).get("model_stats")).getFirst();
            assertEquals(List.of("small", "1"), List.of(stats.get("name"), stats.get("version")), call);
            Map<?, ?> inference = (Map<?, ?>) stats.get("inference_stats");
            long ok = (Long) ((Map<?, ?>) inference.get("success")).get("count"), failed = (Long) ((Map<?, ?>) inference.get("fail")).get("count");
            assertTrue(ok >= 7 && failed >= says.size(), call + ": " + inference);
            assertTrue((Long) stats.get("inference_count") >= ok && (Long) stats.get("execution_count") >= 1, call + ": " + stats);
            assertTrue(!((List<?>) stats.get("batch_stats")).isEmpty(), call + ": " + stats);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(String text) {
        return (Map<String, Object>) Json.parse(text);
    }

    private static Map<?, ?> response(Map<String, Object> results, String call) {
        Map<?, ?> r = (Map<?, ?>) results.get(call);
        assertEquals(0L, r.get("code"), call + ": " + r);
        return (Map<?, ?>) r.get("response");
    }

    private static float[] floats(Map<?, ?> output) {
        assertEquals(0L, output.get("code"), output.toString());
        byte[] raw = Base64.getDecoder().decode((String) output.get("raw"));
        return Bodies.floats(raw, 0, raw.length);
    }
}
