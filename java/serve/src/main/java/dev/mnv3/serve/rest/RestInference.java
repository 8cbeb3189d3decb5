package dev.mnv3.serve.rest;

import dev.mnv3.serve.Admission;
import dev.mnv3.serve.InferRequest;
import dev.mnv3.serve.InferResponse;
import dev.mnv3.serve.InferenceService;
import dev.mnv3.serve.ServeError;
import dev.mnv3.serve.ServerState;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * One REST inference call, on a virtual thread of its own. It is admitted before its body is read
 * ({@link InferenceService#admit}: 429 when too many are being received, or the batcher's queue is
 * full; a refused body is read and dropped first, so that the client reads its answer rather than
 * a reset connection); its body is read (408 when it stops arriving for the idle timeout), parsed
 * and answered on a {@code CpuWork} thread, and run.
 */
final class RestInference {
    /** JSON this large is parsed or written on the CPU threads; below it, where the call is. */
    private static final int HEAVY_JSON_BYTES = 64 * 1024;

    private final InferenceService service;
    private final ServerState state;
    private final int maxBodyBytes;
    private final Duration idleTimeout;

    RestInference(InferenceService service, ServerState state, int maxBodyBytes, Duration idleTimeout) {
        this.service = service;
        this.state = state;
        this.maxBodyBytes = maxBodyBytes;
        this.idleTimeout = idleTimeout;
    }

    void run(Request request, Response response, Callback callback, String name, String version) {
        long start = System.nanoTime();
        ServeError.Kind failure = null;
        try {
            state.enter();
        } catch (ServeError e) {
            drain(request);
            service.record(RestHandler.PROTOCOL, e.kind(), System.nanoTime() - start);
            RestHandler.sendError(response, callback, e);
            return;
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
            answer(response, done, infer(request, name, version));
        } catch (ServeError e) {
            failure = e.kind();
            RestHandler.sendError(response, done, e);
        } catch (RuntimeException e) {
            failure = ServeError.Kind.INTERNAL;
            RestHandler.sendError(response, done, new ServeError(ServeError.Kind.INTERNAL, "internal error: " + e, e));
        } finally {
            service.record(RestHandler.PROTOCOL, failure, System.nanoTime() - start);
        }
    }

    private InferResponseJson.Encoded infer(Request request, String name, String version) {
        long declared = request.getLength();
        if (declared > maxBodyBytes) throw tooLarge(declared);
        Admission.Ticket ticket;
        try {
            ticket = service.admit(declared >= 0 ? declared : maxBodyBytes);
        } catch (ServeError e) {
            drain(request);
            throw e;
        }
        try (ticket) {
            byte[] body = readBody(request, declared);
            int jsonLength = jsonLength(request, body.length);
            // a small JSON part parses in microseconds: handed to the CPU threads it would only queue behind heavy work
            InferRequest req = jsonLength < HEAVY_JSON_BYTES ? InferRequestJson.read(body, jsonLength)
                    : service.cpu().run(() -> InferRequestJson.read(body, jsonLength));
            InferResponse resp = service.infer(name, version, req, ticket);
            return jsonFloats(resp) < HEAVY_JSON_BYTES / 8 ? InferResponseJson.write(resp)
                    : service.cpu().run(() -> InferResponseJson.write(resp));
        }
    }

    /** How many floats of the response go out as JSON text. */
    private static long jsonFloats(InferResponse r) {
        return r.outputs().stream().filter(o -> !o.binary() && o.floats() != null).mapToLong(o -> o.floats().length).sum();
    }

    private static void answer(Response response, Callback done, InferResponseJson.Encoded encoded) {
        if (!encoded.hasBinary()) {
            RestHandler.send(response, done, 200, "application/json", encoded.json());
            return;
        }
        response.getHeaders().put(RestHandler.HEADER_LENGTH, Integer.toString(encoded.json().length));
        ByteArrayOutputStream all = new ByteArrayOutputStream(encoded.json().length + encoded.binary().stream().mapToInt(b -> b.length).sum());
        all.writeBytes(encoded.json());
        encoded.binary().forEach(all::writeBytes);
        RestHandler.send(response, done, 200, "application/octet-stream", all.toByteArray());
    }

    /** The body: of its declared length, else read up to the limit. */
    private byte[] readBody(Request request, long declared) {
        try (InputStream in = Request.asInputStream(request)) {
            if (declared >= 0) {
                byte[] body = new byte[(int) declared];
                int n = in.readNBytes(body, 0, body.length);
                if (n < body.length) throw ServeError.badRequest("the request body ended after " + n + " of its " + declared + " bytes");
                return body;
            }
            byte[] body = in.readNBytes(maxBodyBytes + 1);
            if (body.length > maxBodyBytes) throw tooLarge(body.length);
            return body;
        } catch (IOException e) {
            if (timedOut(e)) {
                throw new ServeError(ServeError.Kind.TIMEOUT, "the request body stopped arriving: nothing came for "
                        + idleTimeout.toMillis() + " ms");
            }
            throw ServeError.badRequest("could not read the request body: " + e.getMessage());
        }
    }

    private static boolean timedOut(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof TimeoutException || String.valueOf(t.getMessage()).contains("Idle timeout")) return true;
        }
        return false;
    }

    /** Answers a call refused before its body was read (e.g. no or the wrong token), after reading and dropping the body. */
    void refuse(Request request, Response response, Callback callback, ServeError e) {
        drain(request);
        RestHandler.sendError(response, callback, e);
    }

    /**
     * Reads and drops what is left of a refused request's body, up to the body limit, so that the
     * client, still sending, reads the answer rather than a broken pipe; past the limit the
     * connection is closed instead.
     */
    private void drain(Request request) {
        try (InputStream in = Request.asInputStream(request)) {
            byte[] sink = new byte[64 * 1024];
            for (long read = 0; read <= maxBodyBytes; ) {
                int n = in.read(sink);
                if (n < 0) return;
                read += n;
            }
        } catch (IOException | RuntimeException e) {
            // the client is gone or stalled: the answer is written regardless
        }
    }

    private ServeError tooLarge(long bytes) {
        return ServeError.badRequest("the request body is " + (bytes > maxBodyBytes ? "over " + maxBodyBytes : bytes)
                + " bytes; the limit is " + maxBodyBytes);
    }

    /** The JSON part's length: Triton's header when binary data follow, else the whole body. */
    private static int jsonLength(Request request, int bodyLength) {
        String header = request.getHeaders().get(RestHandler.HEADER_LENGTH);
        if (header == null) return bodyLength;
        int n;
        try {
            n = Integer.parseInt(header.trim());
        } catch (NumberFormatException e) {
            throw ServeError.badRequest(RestHandler.HEADER_LENGTH + " must be a number, got '" + header + "'");
        }
        if (n < 1 || n > bodyLength) {
            throw ServeError.badRequest(RestHandler.HEADER_LENGTH + " is " + n + " but the body has " + bodyLength + " bytes");
        }
        return n;
    }
}
