package dev.mnv3.serve;

import java.time.Duration;
import java.util.Objects;

/**
 * Where and how the server listens, how much it takes in, how it batches, and who may talk to it.
 *
 * @param host         address to bind (0.0.0.0: every interface; 127.0.0.1: this machine only)
 * @param httpPort     REST port (0: any free port)
 * @param grpcPort     gRPC port (0: any free port)
 * @param probePort    the probe port, health checks and metrics only on threads of their own (0: any free port;
 *                     {@link #NO_PROBE_PORT}: none)
 * @param limits       request sizes, how many are received at once, and the idle timeout
 * @param batching     the dynamic batcher's policy
 * @param drainTimeout how long a shutdown waits for requests in flight
 * @param security     TLS and the bearer token
 */
public record ServerConfig(String host, int httpPort, int grpcPort, int probePort, RequestLimits limits, BatchPolicy batching,
                           Duration drainTimeout, ServerSecurity security) {
    /** No probe port: health checks and metrics on the REST port only. */
    public static final int NO_PROBE_PORT = -1;

    public ServerConfig {
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(security, "security");
        checkPort("HTTP", httpPort);
        checkPort("gRPC", grpcPort);
        if (probePort != NO_PROBE_PORT) checkPort("probe", probePort);
        if (drainTimeout.isNegative()) throw new IllegalArgumentException("the drain timeout must not be negative");
    }

    /** Plaintext, no token, no probe port, the default limits for {@code maxBodyBytes}. */
    public ServerConfig(String host, int httpPort, int grpcPort, int maxBodyBytes, BatchPolicy batching, Duration drainTimeout) {
        this(host, httpPort, grpcPort, NO_PROBE_PORT, RequestLimits.defaults(maxBodyBytes), batching, drainTimeout, ServerSecurity.NONE);
    }

    private static void checkPort(String what, int port) {
        if (port < 0 || port > 65535) throw new IllegalArgumentException(what + " port must be from 0 to 65535, got " + port);
    }

    public int maxBodyBytes() {
        return limits.maxBodyBytes();
    }

    public ServerConfig withLimits(RequestLimits l) {
        return new ServerConfig(host, httpPort, grpcPort, probePort, l, batching, drainTimeout, security);
    }

    public ServerConfig withBatching(BatchPolicy b) {
        return new ServerConfig(host, httpPort, grpcPort, probePort, limits, b, drainTimeout, security);
    }

    public ServerConfig withProbePort(int port) {
        return new ServerConfig(host, httpPort, grpcPort, port, limits, batching, drainTimeout, security);
    }

    public ServerConfig withSecurity(ServerSecurity s) {
        return new ServerConfig(host, httpPort, grpcPort, probePort, limits, batching, drainTimeout, s);
    }
}
