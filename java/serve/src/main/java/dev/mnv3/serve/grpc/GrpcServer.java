package dev.mnv3.serve.grpc;

import dev.mnv3.serve.InferenceService;
import dev.mnv3.serve.RequestLimits;
import dev.mnv3.serve.ServerSecurity;
import dev.mnv3.serve.ServerState;
import dev.mnv3.serve.TlsFiles;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Executor;

/** The gRPC server: the endpoint behind its {@link GrpcGuards}, calls on {@code executor}, the message size limit, TLS when given. */
public final class GrpcServer {
    private GrpcServer() {
    }

    public static Server start(String host, int port, InferenceService service, ServerState state, String name, String version,
                               int instances, RequestLimits limits, ServerSecurity security, TlsFiles tls, Executor executor)
            throws IOException {
        GrpcGuards guards = new GrpcGuards(service, security);
        NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
                .executor(executor)
                .maxInboundMessageSize(limits.maxBodyBytes())
                .addStreamTracerFactory(guards.tracer())
                .addService(guards.wrap(new GrpcEndpoint(service, state, name, version, instances)));
        if (tls != null) b.useTransportSecurity(new ByteArrayInputStream(tls.certificatePem()), new ByteArrayInputStream(tls.keyPem()));
        try {
            return b.build().start();
        } catch (IOException e) {
            throw new IOException("cannot listen for gRPC on " + host + ":" + port + ": " + e.getMessage(), e);
        }
    }
}
