package dev.mnv3.serve;

import java.time.Duration;

/**
 * Where and how the server listens, and how it batches.
 *
 * @param host         address to bind (0.0.0.0: every interface; 127.0.0.1: this machine only)
 * @param httpPort     REST port (0: any free port)
 * @param grpcPort     gRPC port (0: any free port)
 * @param maxBodyBytes largest request body (REST) or message (gRPC) accepted
 * @param batching     the dynamic batcher's policy
 * @param drainTimeout how long a shutdown waits for requests in flight
 */
public record ServerConfig(String host, int httpPort, int grpcPort, int maxBodyBytes, BatchPolicy batching, Duration drainTimeout) {
    public ServerConfig {
        checkPort("HTTP", httpPort);
        checkPort("gRPC", grpcPort);
        if (maxBodyBytes < 1024) throw new IllegalArgumentException("the body limit must be at least 1024 bytes, got " + maxBodyBytes);
        if (drainTimeout.isNegative()) throw new IllegalArgumentException("the drain timeout must not be negative");
    }

    private static void checkPort(String what, int port) {
        if (port < 0 || port > 65535) throw new IllegalArgumentException(what + " port must be from 0 to 65535, got " + port);
    }
}
