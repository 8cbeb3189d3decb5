package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Json;
import dev.mnv3.core.tensor.Tensor;
import io.grpc.Status;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS on both ports and the bearer token, through curl and Node's @grpc/grpc-js trusting a
 * certificate openssl made: health checks need no token, everything else does (401 /
 * UNAUTHENTICATED without it or with a wrong one), and plaintext does not reach a TLS port.
 */
class SecurityTest {
    private static final String TOKEN = "s3cret-token.42";

    @TempDir
    Path dir;

    @Test
    void tlsAndTheTokenGuardBothProtocolsButTheHealthChecks() throws Exception {
        String node = Tools.requireNode();
        Path cert = dir.resolve("cert.pem"), key = dir.resolve("key.pem");
        Tools.Run made = Tools.run(List.of(Tools.require("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "1", "-subj",
                "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"), 60);
        assertEquals(0, made.exit(), made.toString());
        ServerConfig c = TestServer.config(new BatchPolicy(4, 0, 64), 1 << 20).withSecurity(new ServerSecurity(cert, key, TOKEN))
                .withProbePort(0);
        Map<?, ?> grpc;
        try (TestServer s = new TestServer(c, 1, false, CoreImageDecoder.DEFAULT)) {
            String https = "https://127.0.0.1:" + s.server.httpPort(), ca = "--cacert " + cert, bearer = "Authorization: Bearer " + TOKEN;
            for (String health : List.of("/v2/health/live", "/v2/health/ready", "/v2/models/small/ready")) {
                assertEquals(200, Tools.curl(https + health, null, ca).status(), health);
            }
            for (String wrong : List.of("", "Authorization: Bearer " + TOKEN + "x", "Authorization: Basic " + TOKEN)) {
                Tools.Http refused = wrong.isEmpty() ? Tools.curl(https + "/v2", null, ca) : Tools.curl(https + "/v2", null, ca, wrong);
                assertEquals(401, refused.status(), wrong + ": " + refused.text());
                assertTrue(refused.headers().contains("WWW-Authenticate: Bearer"), refused.headers());
                assertEquals("{\"error\":\"this server wants the header 'Authorization: Bearer TOKEN'\"}", refused.text());
            }
            assertEquals(401, Tools.curl(https + "/metrics", null, ca).status());
            assertEquals(200, Tools.curl(https + "/metrics", null, ca, bearer).status());
            // the probe port: the same TLS, health without the token, the metrics with it
            String probes = "https://127.0.0.1:" + s.server.probePort();
            assertEquals(200, Tools.curl(probes + "/v2/health/live", null, ca).status());
            assertEquals(401, Tools.curl(probes + "/metrics", null, ca).status());
            assertEquals(200, Tools.curl(probes + "/metrics", null, ca, bearer).status());
            assertThrows(AssertionError.class, () -> Tools.curl("http://127.0.0.1:" + s.server.probePort() + "/v2/health/live", null));
            assertEquals(200, Tools.curl(https + "/v2/models/small/config", null, ca, bearer).status());
            Tensor x = TestServer.input(1, 71);
            Path body = Files.writeString(dir.resolve("x.json"), Bodies.json(x, null));
            assertEquals(401, Tools.curl(https + "/v2/models/small/infer", body, ca).status());
            Tools.Http served = Tools.curl(https + "/v2/models/small/infer", body, ca, bearer);
            assertEquals(200, served.status(), served.text());
            @SuppressWarnings("unchecked")
            Map<String, Object> answer = (Map<String, Object>) Json.parse(served.text());
            List<?> data = (List<?>) ((Map<?, ?>) ((List<?>) answer.get("outputs")).getFirst()).get("data");
            float[] logits = new float[data.size()];
            for (int i = 0; i < logits.length; i++) logits[i] = ((Number) data.get(i)).floatValue();
            Bodies.assertParity("over TLS", logits, s.expected(x), s.expected(TestServer.input(1, 72)));
            // plaintext to the TLS port is not served
            assertThrows(AssertionError.class, () -> Tools.curl("http://127.0.0.1:" + s.server.httpPort() + "/v2/health/live", null));

            Tools.Run run = Tools.run(List.of(node, Tools.NODE_PROJECT.resolve("grpc_secure.js").toString(),
                    Integer.toString(s.server.grpcPort()), TestServer.NAME, cert.toString(), TOKEN, dir.toString()), 120);
            assertEquals(0, run.exit(), run.toString());
            grpc = (Map<?, ?>) Json.parse(Files.readString(dir.resolve("results.json")));
        }
        long ok = Status.Code.OK.value(), unauthenticated = Status.Code.UNAUTHENTICATED.value();
        for (String call : List.of("liveWithoutToken", "modelReadyWithoutToken", "metadataWithToken", "inferWithToken")) {
            assertEquals(ok, ((Map<?, ?>) grpc.get(call)).get("code"), call + ": " + grpc.get(call));
        }
        assertEquals(List.of(1L, 1000L), ((Map<?, ?>) grpc.get("inferWithToken")).get("shape"));
        for (String call : List.of("metadataWithoutToken", "metadataWrongToken", "inferWithoutToken")) {
            assertEquals(unauthenticated, ((Map<?, ?>) grpc.get(call)).get("code"), call + ": " + grpc.get(call));
        }
        assertNotEquals(ok, ((Map<?, ?>) grpc.get("plaintext")).get("code"), "plaintext gRPC reached a TLS port");
    }

    /**
     * A refused upload (here: no token, no such endpoint) is answered only once its body has
     * arrived: answered at once, a client still sending a large body meets a closed connection
     * (curl: "Send failure: Broken pipe") instead of reading its 4xx.
     */
    @Test
    void aRefusedUploadIsReadBeforeItIsAnswered() throws Exception {
        ServerConfig c = TestServer.config(new BatchPolicy(4, 0, 64), 1 << 20).withSecurity(new ServerSecurity(null, null, TOKEN));
        try (TestServer s = new TestServer(c, 1, false, CoreImageDecoder.DEFAULT)) {
            for (Map.Entry<String, String> refused : Map.of("/v2/models/small/infer", "401", "/v2/nothing", "404").entrySet()) {
                try (Socket socket = new Socket("127.0.0.1", s.server.httpPort())) {
                    OutputStream out = socket.getOutputStream();
                    out.write(("POST " + refused.getKey() + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 10\r\n\r\n{\"in")
                            .getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                    InputStream in = socket.getInputStream();
                    socket.setSoTimeout(500);
                    assertThrows(SocketTimeoutException.class, in::read, refused.getKey() + " answered before the body arrived");
                    out.write("puts\":[]}".getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                    socket.setSoTimeout(10_000);
                    String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    assertTrue(answer.startsWith("HTTP/1.1 " + refused.getValue()), refused.getKey() + ": " + answer);
                }
            }
        }
    }
}
