package dev.mnv3.serve;

import java.time.Duration;
import java.util.Objects;

/**
 * How much of a request the server takes, and how many it takes at once.
 *
 * @param maxBodyBytes      largest request body (REST) or message (gRPC)
 * @param maxReceiving      inference requests being received and prepared at once ({@link Admission})
 * @param maxReceivingBytes their body bytes together
 * @param idleTimeout       how long a connection may send nothing in the middle of a request before
 *                          the request is answered 408 (REST) and the connection closed
 */
public record RequestLimits(int maxBodyBytes, int maxReceiving, long maxReceivingBytes, Duration idleTimeout) {
    public RequestLimits {
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        if (maxBodyBytes < 1024) throw new IllegalArgumentException("the body limit must be at least 1024 bytes, got " + maxBodyBytes);
        if (maxReceiving < 1) throw new IllegalArgumentException("the receiving limit must be >= 1 request, got " + maxReceiving);
        if (maxReceivingBytes < 1) throw new IllegalArgumentException("the receiving limit must be >= 1 byte, got " + maxReceivingBytes);
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("the idle timeout must be positive, got " + idleTimeout);
        }
    }

    /**
     * The defaults for a body limit: eight requests per processor (at least 16) and an eighth of
     * the heap being received at once, 30 s of silence per request.
     */
    public static RequestLimits defaults(int maxBodyBytes) {
        int requests = Math.max(16, 8 * Runtime.getRuntime().availableProcessors());
        return new RequestLimits(maxBodyBytes, requests, Math.max(maxBodyBytes, Runtime.getRuntime().maxMemory() / 8), Duration.ofSeconds(30));
    }

    public RequestLimits withReceiving(int requests, long bytes) {
        return new RequestLimits(maxBodyBytes, requests, bytes, idleTimeout);
    }

    public RequestLimits withIdleTimeout(Duration timeout) {
        return new RequestLimits(maxBodyBytes, maxReceiving, maxReceivingBytes, timeout);
    }
}
