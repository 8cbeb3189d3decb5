package dev.mnv3.serve.rest;

import dev.mnv3.serve.InferRequest;
import dev.mnv3.serve.InferResponse;
import dev.mnv3.serve.InferenceService;
import dev.mnv3.serve.ServeError;
import dev.mnv3.serve.ServerMetrics;
import dev.mnv3.serve.ServerState;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * KServe v2's REST endpoints on Jetty, plus Triton's model configuration and statistics and
 * Prometheus' {@code /metrics}:
 * <pre>
 * GET  /v2                                   server metadata
 * GET  /v2/health/live, /v2/health/ready      200 or 503, empty body
 * GET  /v2/models/{m}[/versions/{v}]          model metadata
 * GET  /v2/models/{m}[/versions/{v}]/ready    200 or 503
 * GET  /v2/models/{m}[/versions/{v}]/config   Triton's model configuration
 * GET  /v2/models/{m}[/versions/{v}]/stats    Triton's statistics (also /v2/models/stats)
 * POST /v2/models/{m}[/versions/{v}]/infer    inference: JSON, or JSON + binary tensor data
 * GET  /metrics                              Prometheus text format
 * </pre>
 * Errors are KServe's {@code {"error": "..."}} with the status of their {@link ServeError.Kind}.
 * Jetty runs the handler on a virtual thread, which waits for the batcher without holding a
 * platform thread.
 */
public final class RestHandler extends Handler.Abstract {
    /** Triton's header: the length of the JSON part of a body that carries binary tensor data. */
    public static final String HEADER_LENGTH = "Inference-Header-Content-Length";
    public static final String PROTOCOL = "rest";

    private final InferenceService service;
    private final ServerState state;
    private final ServerMetrics metrics;
    private final byte[] serverMetadata, modelMetadata, modelConfig;
    private final int maxBodyBytes;

    public RestHandler(InferenceService service, ServerState state, ServerMetrics metrics, String serverName, String serverVersion,
                       byte[] modelConfig, int maxBodyBytes) {
        this.service = service;
        this.state = state;
        this.metrics = metrics;
        this.serverMetadata = RestDocuments.serverMetadata(serverName, serverVersion);
        this.modelMetadata = RestDocuments.modelMetadata(service.model());
        this.modelConfig = modelConfig;
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        List<String> path = Arrays.stream(request.getHttpURI().getDecodedPath().split("/")).filter(s -> !s.isEmpty()).toList();
        String method = request.getMethod();
        try {
            if (path.size() >= 3 && path.get(0).equals("v2") && path.get(1).equals("models") && !path.get(2).equals("stats")) {
                model(request, response, callback, path.get(2), path.subList(3, path.size()));
            } else {
                requireGet(method);
                switch (String.join("/", path)) {
                    case "v2" -> send(response, callback, 200, "application/json", serverMetadata);
                    case "v2/health/live" -> status(response, callback, state.live());
                    case "v2/health/ready" -> status(response, callback, state.ready());
                    case "v2/models/stats" -> send(response, callback, 200, "application/json",
                            RestDocuments.statistics(service.model(), service.statistics().snapshot()));
                    case "metrics" -> metrics(response, callback);
                    default -> throw new ServeError(ServeError.Kind.NOT_FOUND, "no endpoint " + method + " "
                            + request.getHttpURI().getPath() + " (see KServe v2: /v2, /v2/health/..., /v2/models/{name}/...)");
                }
            }
        } catch (ServeError e) {
            sendError(response, callback, e);
        }
        return true;
    }

    /** /v2/models/{name}[/versions/{version}][/ready|config|stats|infer] */
    private void model(Request request, Response response, Callback callback, String name, List<String> rest) {
        String version = null;
        if (rest.size() >= 2 && rest.get(0).equals("versions")) {
            version = rest.get(1);
            rest = rest.subList(2, rest.size());
        }
        String what = rest.isEmpty() ? "" : rest.getFirst();
        if (rest.size() > 1 || !List.of("", "ready", "config", "stats", "infer").contains(what)) {
            throw new ServeError(ServeError.Kind.NOT_FOUND, "no endpoint " + request.getHttpURI().getPath());
        }
        if (what.equals("infer")) {
            if (!request.getMethod().equals("POST")) throw methodNotAllowed(request.getMethod(), "POST");
            infer(request, response, callback, name, version);
            return;
        }
        requireGet(request.getMethod());
        service.requireModel(name, version);
        switch (what) {
            case "" -> send(response, callback, 200, "application/json", modelMetadata);
            case "ready" -> status(response, callback, state.ready());
            case "config" -> send(response, callback, 200, "application/json", modelConfig);
            default -> send(response, callback, 200, "application/json",
                    RestDocuments.statistics(service.model(), service.statistics().snapshot()));
        }
    }

    private void infer(Request request, Response response, Callback callback, String name, String version) {
        long start = System.nanoTime();
        ServeError.Kind failure = null;
        try {
            state.enter();
        } catch (ServeError e) {
            service.record(PROTOCOL, e.kind(), System.nanoTime() - start);
            throw e;
        }
        // the call stays in flight until its response is written, so that draining waits for it
        Callback done = Callback.from(() -> {
            state.exit();
            callback.succeeded();
        }, x -> {
            state.exit();
            callback.failed(x);
        });
        try {
            byte[] body = readBody(request);
            InferRequest req = InferRequestJson.read(body, jsonLength(request, body.length));
            InferResponse resp = service.infer(name, version, req);
            InferResponseJson.Encoded encoded = InferResponseJson.write(resp);
            if (!encoded.hasBinary()) {
                send(response, done, 200, "application/json", encoded.json());
            } else {
                response.getHeaders().put(HEADER_LENGTH, Integer.toString(encoded.json().length));
                ByteArrayOutputStream all = new ByteArrayOutputStream(encoded.json().length
                        + encoded.binary().stream().mapToInt(b -> b.length).sum());
                all.writeBytes(encoded.json());
                encoded.binary().forEach(all::writeBytes);
                send(response, done, 200, "application/octet-stream", all.toByteArray());
            }
        } catch (ServeError e) {
            failure = e.kind();
            sendError(response, done, e);
        } catch (RuntimeException e) {
            failure = ServeError.Kind.INTERNAL;
            sendError(response, done, new ServeError(ServeError.Kind.INTERNAL, "internal error: " + e, e));
        } finally {
            service.record(PROTOCOL, failure, System.nanoTime() - start);
        }
    }

    /** The body, refused when over the limit (by its Content-Length before reading it, else while reading). */
    private byte[] readBody(Request request) {
        long declared = request.getLength();
        if (declared > maxBodyBytes) throw tooLarge(declared);
        try (InputStream in = Request.asInputStream(request)) {
            byte[] body = in.readNBytes(maxBodyBytes + 1);
            if (body.length > maxBodyBytes) throw tooLarge(body.length);
            return body;
        } catch (IOException e) {
            throw ServeError.badRequest("could not read the request body: " + e.getMessage());
        }
    }

    private ServeError tooLarge(long bytes) {
        return ServeError.badRequest("the request body is " + (bytes > maxBodyBytes ? "over " + maxBodyBytes : bytes)
                + " bytes; the limit is " + maxBodyBytes + " (--max-body-mb)");
    }

    /** The JSON part's length: Triton's header when binary data follow, else the whole body. */
    private static int jsonLength(Request request, int bodyLength) {
        String header = request.getHeaders().get(HEADER_LENGTH);
        if (header == null) return bodyLength;
        int n;
        try {
            n = Integer.parseInt(header.trim());
        } catch (NumberFormatException e) {
            throw ServeError.badRequest(HEADER_LENGTH + " must be a number, got '" + header + "'");
        }
        if (n < 1 || n > bodyLength) {
            throw ServeError.badRequest(HEADER_LENGTH + " is " + n + " but the body has " + bodyLength + " bytes");
        }
        return n;
    }

    private void metrics(Response response, Callback callback) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try {
            metrics.writeTo(out);
        } catch (IOException e) {
            throw new ServeError(ServeError.Kind.INTERNAL, "could not write the metrics: " + e.getMessage(), e);
        }
        send(response, callback, 200, ServerMetrics.CONTENT_TYPE, out.toByteArray());
    }

    private static void requireGet(String method) {
        if (!method.equals("GET") && !method.equals("HEAD")) throw methodNotAllowed(method, "GET");
    }

    private static ServeError methodNotAllowed(String method, String allowed) {
        return new ServeError(ServeError.Kind.METHOD_NOT_ALLOWED, "method " + method + " is not allowed here; use " + allowed);
    }

    private static void status(Response response, Callback callback, boolean ok) {
        response.setStatus(ok ? HttpStatus.OK_200 : HttpStatus.SERVICE_UNAVAILABLE_503);
        response.write(true, ByteBuffer.allocate(0), callback);
    }

    private static void sendError(Response response, Callback callback, ServeError e) {
        InferenceService.logInternal(e);
        if (e.kind() == ServeError.Kind.OVERLOADED || e.kind() == ServeError.Kind.UNAVAILABLE) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        }
        response.getHeaders().remove(HEADER_LENGTH);
        send(response, callback, e.kind().httpStatus, "application/json", InferResponseJson.error(e.getMessage()));
    }

    private static void send(Response response, Callback callback, int status, String contentType, byte[] body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
    }
}
