package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.client.InferenceClient;
import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.image.ImageNetClasses;
import dev.mnv3.core.tensor.Tensor;
import java.net.URI;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** mnv3-client, the Java client for services that call the server, against a running server. */
class InferenceClientTest {
    @Test
    void theJavaClientInfersClassifiesAndReportsErrors() throws Exception {
        try (TestServer s = new TestServer(new BatchPolicy(4, 0, 16), 1, 1 << 20);
             InferenceClient client = new InferenceClient(URI.create(s.url("/")))) {
            assertTrue(client.live());
            assertTrue(client.ready());
            assertTrue(client.modelReady("small"));
            assertFalse(client.modelReady("large"));

            Tensor x = TestServer.input(2, 71);
            Map<String, InferenceClient.Output> out = client.infer("small", "input", x.data(), new long[] {2, 3, 64, 64}, "logits", "stride16");
            assertEquals(List.of("logits", "stride16"), List.copyOf(out.keySet()));
            assertArrayEquals(new long[] {2, 1000}, out.get("logits").shape());
            Bodies.assertParity("client logits", out.get("logits").floats(), s.expected(x), s.expected(TestServer.input(2, 72)));
            FeatureLevel level = s.graph.featureLevels().get(3);
            Tensor stride16 = s.reference.trace(x).get(level.node());
            Bodies.assertParity("client stride16", out.get("stride16").floats(), stride16,
                    s.reference.trace(TestServer.input(2, 72)).get(level.node()));
            assertArrayEquals(new long[] {2, level.channels(), 4, 4}, out.get("stride16").shape());

            byte[] jpg = Bodies.image(120, 90, 9, "jpg");
            float[] p = s.expected(Bodies.classifyInput(jpg)).data();
            List<Integer> best = IntStream.range(0, 1000).boxed().sorted(Comparator.comparingDouble(c -> -p[c])).limit(5).toList();
            List<InferenceClient.Classification> top = client.classify("small", jpg, 5);
            assertEquals(best, top.stream().map(InferenceClient.Classification::index).toList());
            assertEquals(ImageNetClasses.name(best.getFirst(), 1000), top.getFirst().label());
            assertEquals(p[best.getFirst()], top.getFirst().score(), 1e-5f * Math.abs(p[best.getFirst()]) + 1e-6f);

            InferenceClient.InferenceException e = assertThrows(InferenceClient.InferenceException.class,
                    () -> client.infer("small", "input", new float[3 * 16 * 16], 1, 3, 16, 16));
            assertEquals(400, e.status());
            assertTrue(e.getMessage().contains("too small"), e.getMessage());
            assertEquals(400, assertThrows(InferenceClient.InferenceException.class,
                    () -> client.classify("small", new byte[] {1, 2, 3}, 1)).status());
        }
    }

    /** Misuse is refused before anything is sent: one line naming the argument, not a 400 from the server or a NullPointerException. */
    @Test
    void misuseIsOneLineNamingTheArgument() {
        try (InferenceClient client = new InferenceClient(URI.create("http://127.0.0.1:9/"))) {
            float[] crop = new float[3 * 8 * 8];
            record Misuse(org.junit.jupiter.api.function.Executable call, String expected) {
            }
            for (Misuse m : List.of(
                    new Misuse(() -> client.infer("small", "input", new float[10], 1, 3, 8, 8), "data has 10 values, but shape [1, 3, 8, 8] holds 192"),
                    new Misuse(() -> client.infer("small", "input", crop, 1, -3, 8, 8), "shape [1, -3, 8, 8] has a negative dimension"),
                    new Misuse(() -> client.infer("small", "input", null, 1, 3, 8, 8), "data is null: expected the tensor's values"),
                    new Misuse(() -> client.infer("small", "input", crop, (long[]) null), "shape is null"),
                    new Misuse(() -> client.infer(null, "input", crop, 1, 3, 8, 8), "model is null: expected the name of a served model"),
                    new Misuse(() -> client.infer("small", "input", crop, new long[] {1, 3, 8, 8}, "logits", null),
                            "outputs[1] is null: expected an output name"),
                    new Misuse(() -> client.classify("small", null, 5), "image is null: expected the bytes of an encoded image"),
                    new Misuse(() -> client.classify("small", new byte[10], 0), "top is 0, expected >= 1"),
                    new Misuse(() -> new InferenceClient(null), "base is null"))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, m.call(), m.expected());
                assertTrue(e.getMessage().startsWith(m.expected()), e.getMessage());
                assertEquals(1, e.getMessage().lines().count(), e.getMessage());
            }
        }
    }
}
