package dev.mnv3.serve.rest;

import dev.mnv3.serve.ServeError;
import java.nio.ByteBuffer;
import java.util.function.Consumer;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * What Jetty itself refuses (a URI or headers too long, an ambiguous path, malformed HTTP, a
 * stalled request) answered as every other error is: KServe's {@code {"error": "..."}}, one line,
 * no HTML and no stack trace; and counted as a failed request.
 */
final class RestErrors extends ErrorHandler {
    /** Told the kind of each refusal, for the metrics. */
    private final Consumer<ServeError.Kind> refused;

    RestErrors(Consumer<ServeError.Kind> refused) {
        this.refused = refused;
        setShowStacks(false);
        setShowCauses(false);
    }

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause, Callback callback) {
        refused.accept(kind(code));
        byte[] body = InferResponseJson.error(text(code, message));
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        refused.accept(kind(status));
        fields.put(new HttpField(HttpHeader.CONTENT_TYPE, "application/json"));
        return ByteBuffer.wrap(InferResponseJson.error(text(status, reason)));
    }

    private static String text(int code, String message) {
        String reason = HttpStatus.getMessage(code);
        return message == null || message.isBlank() || message.equals(reason) ? reason : reason + ": " + message.strip().lines()
                .findFirst().orElse("");
    }

    static ServeError.Kind kind(int status) {
        return switch (status) {
            case 401 -> ServeError.Kind.UNAUTHENTICATED;
            case 404 -> ServeError.Kind.NOT_FOUND;
            case 405 -> ServeError.Kind.METHOD_NOT_ALLOWED;
            case 408 -> ServeError.Kind.TIMEOUT;
            case 429 -> ServeError.Kind.OVERLOADED;
            case 503 -> ServeError.Kind.UNAVAILABLE;
            default -> status >= 500 ? ServeError.Kind.INTERNAL : ServeError.Kind.BAD_REQUEST;
        };
    }
}
