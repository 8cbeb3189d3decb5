package dev.mnv3.serve.rest;

import dev.mnv3.serve.InferenceService;
import dev.mnv3.serve.ModelConfiguration;
import dev.mnv3.serve.RequestLimits;
import dev.mnv3.serve.ServeError;
import dev.mnv3.serve.ServerMetrics;
import dev.mnv3.serve.ServerSecurity;
import dev.mnv3.serve.ServerState;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
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
 * GET  /v2/health/live, /v2/health/ready      200, or 400 when not (KServe: a 4xx), empty body
 * GET  /v2/models/{m}[/versions/{v}]          model metadata
 * GET  /v2/models/{m}[/versions/{v}]/ready    200 or 400
 * GET  /v2/models/{m}[/versions/{v}]/config   Triton's model configuration
 * GET  /v2/models/{m}[/versions/{v}]/stats    Triton's statistics (also /v2/models/stats)
 * POST /v2/models/{m}[/versions/{v}]/infer    inference: JSON, or JSON + binary tensor data
 * GET  /metrics                              Prometheus text format
 * </pre>
 * Errors are KServe's {@code {"error": "..."}} with the status of their {@link ServeError.Kind};
 * an unknown path is 404 whatever its method. With a token configured every endpoint but the three
 * health checks wants {@code Authorization: Bearer TOKEN} (401 otherwise). The probe port answers
 * the health checks and {@code /metrics} only ({@link #probes}).
 *
 * <p>Jetty calls this on its platform threads, which answer everything but inference at once, so
 * that health checks and scrapes take milliseconds however busy the server is; an inference call
 * goes to a virtual thread of its own ({@link RestInference}), whose heavy work runs on the
 * {@code CpuWork} threads.
 */
public final class RestHandler extends Handler.Abstract {
    /** Triton's header: the length of the JSON part of a body that carries binary tensor data. */
    public static final String HEADER_LENGTH = "Inference-Header-Content-Length";
    public static final String PROTOCOL = "rest";

    private final InferenceService service;
    private final ServerState state;
    private final ServerMetrics metrics;
    private final ServerSecurity security;
    private final RestInference inference;
    private final Executor inferenceThreads;
    private final byte[] serverMetadata, modelMetadata, modelConfig;

    public RestHandler(InferenceService service, ServerState state, ServerMetrics metrics, String serverName, String serverVersion,
                       int instances, RequestLimits limits, ServerSecurity security, Executor inferenceThreads) {
        this.service = service;
        this.state = state;
        this.metrics = metrics;
        this.security = security;
        this.inference = new RestInference(service, state, limits.maxBodyBytes(), limits.idleTimeout());
        this.inferenceThreads = inferenceThreads;
        this.serverMetadata = RestDocuments.serverMetadata(serverName, serverVersion);
        this.modelMetadata = RestDocuments.modelMetadata(service.model());
        this.modelConfig = RestDocuments.modelConfig(ModelConfiguration.of(service.model(), service.policy(), instances));
    }

    /** Jetty's own refusals, answered and counted as ours are. */
    public RestErrors errorHandler() {
        return new RestErrors(kind -> service.record(PROTOCOL, kind, 0));
    }

    /** What a path names, and whether the probe port answers it. */
    private enum Endpoint {
        SERVER(false), LIVE(true), READY(true), ALL_STATS(false), METRICS(true), MODEL(false), MODEL_READY(true), CONFIG(false),
        STATS(false), INFER(false);

        final boolean probe;

        Endpoint(boolean probe) {
            this.probe = probe;
        }
    }

    private record Route(Endpoint endpoint, String model, String version) {
    }

    /**
     * The probe port's handler: the health checks and {@code /metrics}, each answered at once
     * without blocking (so Jetty may run it on the selector that read the request), under the same
     * token rules as here; every other path is 404.
     */
    public Handler probes() {
        return new Handler.Abstract.NonBlocking() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                return RestHandler.this.handle(request, response, callback, true);
            }
        };
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        return handle(request, response, callback, false);
    }

    private boolean handle(Request request, Response response, Callback callback, boolean probePort) {
        try {
            Route route = probePort ? probeRoute(request) : route(request);
            String method = request.getMethod();
            if (route.endpoint == Endpoint.INFER) {
                if (!method.equals("POST")) throw methodNotAllowed(method, "POST");
                authenticate(request, route);
                inferenceThreads.execute(() -> inference.run(request, response, callback, route.model, route.version));
                return true;
            }
            if (!method.equals("GET") && !method.equals("HEAD")) throw methodNotAllowed(method, "GET");
            authenticate(request, route);
            if (route.model != null) service.requireModel(route.model, route.version);
            switch (route.endpoint) {
                case SERVER -> send(response, callback, 200, "application/json", serverMetadata);
                case LIVE -> status(response, callback, state.live());
                case READY, MODEL_READY -> status(response, callback, state.ready());
                case MODEL -> send(response, callback, 200, "application/json", modelMetadata);
                case CONFIG -> send(response, callback, 200, "application/json", modelConfig);
                case ALL_STATS, STATS -> send(response, callback, 200, "application/json",
                        RestDocuments.statistics(service.model(), service.statistics().snapshot()));
                case METRICS -> metrics(response, callback);
                default -> throw new IllegalStateException(route.endpoint.name());
            }
        } catch (ServeError e) {
            // a refused upload is answered once its body is read and dropped, where blocking is allowed: answered
            // at once, a client still sending it meets a closed connection (curl: "Send failure: Broken pipe")
            if (!probePort && carriesBody(request)) inferenceThreads.execute(() -> inference.refuse(request, response, callback, e));
            else sendError(response, callback, e);
        }
        return true;
    }

    private static boolean carriesBody(Request request) {
        return request.getLength() > 0 || request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
    }

    private static Route route(Request request) {
        List<String> path = Arrays.stream(request.getHttpURI().getDecodedPath().split("/")).filter(s -> !s.isEmpty()).toList();
        if (path.size() >= 3 && path.get(0).equals("v2") && path.get(1).equals("models") && !path.get(2).equals("stats")) {
            String model = path.get(2), version = null;
            List<String> rest = path.subList(3, path.size());
            if (rest.size() >= 2 && rest.get(0).equals("versions")) {
                version = rest.get(1);
                rest = rest.subList(2, rest.size());
            }
            Endpoint e = rest.isEmpty() ? Endpoint.MODEL : rest.size() > 1 ? null : switch (rest.getFirst()) {
                case "ready" -> Endpoint.MODEL_READY;
                case "config" -> Endpoint.CONFIG;
                case "stats" -> Endpoint.STATS;
                case "infer" -> Endpoint.INFER;
                default -> null;
            };
            if (e != null) return new Route(e, model, version);
        } else {
            Endpoint e = switch (String.join("/", path)) {
                case "v2" -> Endpoint.SERVER;
                case "v2/health/live" -> Endpoint.LIVE;
                case "v2/health/ready" -> Endpoint.READY;
                case "v2/models/stats" -> Endpoint.ALL_STATS;
                case "metrics" -> Endpoint.METRICS;
                default -> null;
            };
            if (e != null) return new Route(e, null, null);
        }
        throw new ServeError(ServeError.Kind.NOT_FOUND, "no endpoint " + request.getMethod() + " " + request.getHttpURI().getPath()
                + " (see KServe v2: /v2, /v2/health/..., /v2/models/{name}/...)");
    }

    private static Route probeRoute(Request request) {
        Route route = null;
        try {
            route = route(request);
        } catch (ServeError e) {
            if (e.kind() != ServeError.Kind.NOT_FOUND) throw e;
        }
        if (route == null || !route.endpoint.probe) {
            throw new ServeError(ServeError.Kind.NOT_FOUND, "no endpoint " + request.getHttpURI().getPath()
                    + " on the probe port: it answers /v2/health/live, /v2/health/ready, /v2/models/{name}/ready and /metrics");
        }
        return route;
    }

    /** UNAUTHENTICATED unless the call carries the token, or is a health check (which probes make without one). */
    private void authenticate(Request request, Route route) {
        boolean health = route.endpoint == Endpoint.LIVE || route.endpoint == Endpoint.READY || route.endpoint == Endpoint.MODEL_READY;
        if (!health && !security.admits(request.getHeaders().get(HttpHeader.AUTHORIZATION))) {
            throw new ServeError(ServeError.Kind.UNAUTHENTICATED, "this server wants the header 'Authorization: Bearer TOKEN'");
        }
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

    private static ServeError methodNotAllowed(String method, String allowed) {
        return new ServeError(ServeError.Kind.METHOD_NOT_ALLOWED, "method " + method + " is not allowed here; use " + allowed);
    }

    /** A health answer: 200, or 400 when not live or ready (KServe: any 4xx; Triton answers 400). */
    private static void status(Response response, Callback callback, boolean ok) {
        response.setStatus(ok ? HttpStatus.OK_200 : HttpStatus.BAD_REQUEST_400);
        response.write(true, ByteBuffer.allocate(0), callback);
    }

    static void sendError(Response response, Callback callback, ServeError e) {
        InferenceService.logInternal(e);
        if (e.kind() == ServeError.Kind.OVERLOADED || e.kind() == ServeError.Kind.UNAVAILABLE) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        }
        if (e.kind() == ServeError.Kind.UNAUTHENTICATED) response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer realm=\"mnv3\"");
        response.getHeaders().remove(HEADER_LENGTH);
        send(response, callback, e.kind().httpStatus, "application/json", InferResponseJson.error(e.getMessage()));
    }

    static void send(Response response, Callback callback, int status, String contentType, byte[] body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
    }
}
