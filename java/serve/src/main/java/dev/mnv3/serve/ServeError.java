package dev.mnv3.serve;

/**
 * Why a request was not served, as each protocol reports it: REST as an HTTP status with KServe's
 * {@code {"error": "..."}} body, gRPC as a status code with the message. A client's mistake is
 * never {@link Kind#INTERNAL}.
 */
public final class ServeError extends RuntimeException {
    public enum Kind {
        /** Malformed or unacceptable request: 400, INVALID_ARGUMENT. */
        BAD_REQUEST(400),
        /** No or the wrong bearer token: 401, UNAUTHENTICATED. */
        UNAUTHENTICATED(401),
        /** No such model or endpoint: 404, NOT_FOUND. */
        NOT_FOUND(404),
        /** REST only: the endpoint takes another method: 405. */
        METHOD_NOT_ALLOWED(405),
        /** REST only: the client stopped sending in the middle of its request: 408. */
        TIMEOUT(408),
        /** Too many requests being received, or the batcher's queue is full: 429, RESOURCE_EXHAUSTED. The client may retry later. */
        OVERLOADED(429),
        /** Warming up or shutting down: 503, UNAVAILABLE. */
        UNAVAILABLE(503),
        /** The model failed on a valid request: 500, INTERNAL. */
        INTERNAL(500);

        public final int httpStatus;

        Kind(int httpStatus) {
            this.httpStatus = httpStatus;
        }
    }

    private final Kind kind;

    public ServeError(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ServeError(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static ServeError badRequest(String message) {
        return new ServeError(Kind.BAD_REQUEST, message);
    }
}
