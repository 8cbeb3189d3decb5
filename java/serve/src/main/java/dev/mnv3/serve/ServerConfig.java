package dev.mnv3.serve;

import java.time.Duration;
import java.util.Objects;

/**
 * Where and how the server listens, how much it takes in, how it batches, and who may talk to it.
 *
 * @param host         address to bind (0.0.0.0: every interface; 127.0.0.1: this machine only)
 * @param httpPort     REST port (0: any free port)
 * @param grpcPort     gRPC port (0: any free port)
 * @param limits       request sizes, how many are received at once, and the idle timeout
 * @param batching     the dynamic batcher's policy
 * @param drainTimeout how long a shutdown waits for requests in flight
 * @param security     TLS and the bearer token
 */
public record ServerConfig(String host, int httpPort, int grpcPort, RequestLimits limits, BatchPolicy batching, Duration drainTimeout,
                           ServerSecurity security) {
    public ServerConfig {
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(security, "security");
        checkPort("HTTP", httpPort);
        checkPort("gRPC", grpcPort);
        if (drainTimeout.isNegative()) throw new IllegalArgumentException("the drain timeout must not be negative");
    }

    /** Plaintext, no token, the default limits for {@code maxBodyBytes}. */
    public ServerConfig(String host, int httpPort, int grpcPort, int maxBodyBytes, BatchPolicy batching, Duration drainTimeout) {
        this(host, httpPort, grpcPort, RequestLimits.defaults(maxBodyBytes), batching, drainTimeout, ServerSecurity.NONE);
    }

    private static void checkPort(String what, int port) {
        if (port < 0 || port > 65535) throw new IllegalArgumentException(what + " port must be from 0 to 65535, got " + port);
    }

    public int maxBodyBytes() {
        return limits.maxBodyBytes();
    }

    public ServerConfig withLimits(RequestLimits l) {
        return new ServerConfig(host, httpPort, grpcPort, l, batching, drainTimeout, security);
    }

    public ServerConfig withBatching(BatchPolicy b) {
        return new ServerConfig(host, httpPort, grpcPort, limits, b, drainTimeout, security);
    }

    public ServerConfig withSecurity(ServerSecurity s) {
        return new ServerConfig(host, httpPort, grpcPort, limits, batching, drainTimeout, s);
    }
}
