package dev.mnv3.serve.rest;

import dev.mnv3.serve.RequestLimits;
import dev.mnv3.serve.TlsFiles;
import java.io.IOException;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The Jetty server of the REST endpoint: platform threads only (inference calls leave them for
 * virtual threads of their own, see {@link RestHandler}), the idle timeout of the request limits,
 * Jetty's own refusals as JSON, and TLS when given; and the probe port's server, which shares
 * nothing with it but the handler's state.
 */
public final class RestServer {
    private static final int INPUT_BUFFER_BYTES = 128 * 1024;

    private RestServer() {
    }

    /** Starts serving {@code handler} on {@code host:port} ({@code tls} null: plaintext); the caller stops it. */
    public static Server start(String host, int port, RestHandler handler, RequestLimits limits, TlsFiles tls) throws IOException {
        QueuedThreadPool pool = new QueuedThreadPool(64, 8);
        pool.setName("mnv3-http");
        // Jetty's defaults: an acceptor thread, selectors by processor count
        return start("HTTP", host, port, handler, handler, pool, -1, -1, limits, tls);
    }

    /**
     * Starts the probe port: {@code handler}'s health checks and metrics on a server of their own,
     * so that a probe never waits for a thread, a selector or an accept queue that inference
     * connections keep busy. One selector accepts (no acceptor thread to hand a connection over)
     * and, the handler never blocking, answers the request itself: a probe costs one wake-up.
     */
    public static Server startProbes(String host, int port, RestHandler handler, RequestLimits limits, TlsFiles tls) throws IOException {
        QueuedThreadPool pool = new QueuedThreadPool(4, 2);
        pool.setName("mnv3-probe");
        pool.setReservedThreads(0);
        return start("the probe port (health checks and metrics)", host, port, handler.probes(), handler, pool, 0, 1, limits, tls);
    }

    private static Server start(String what, String host, int port, Handler serving, RestHandler handler, QueuedThreadPool pool,
                                int acceptors, int selectors, RequestLimits limits, TlsFiles tls) throws IOException {
        Server server = new Server(pool);
        HttpConfiguration hc = new HttpConfiguration();
        hc.setSendServerVersion(false);
        HttpConnectionFactory http = new HttpConnectionFactory(hc);
        // bodies are megabytes: read them in large pieces, not Jetty's 8 KiB (a selector wake-up and a hand-off each)
        http.setInputBufferSize(INPUT_BUFFER_BYTES);
        ConnectionFactory[] factories;
        if (tls == null) {
            factories = new ConnectionFactory[] {http};
        } else {
            SecureRequestCustomizer secure = new SecureRequestCustomizer();
            secure.setSniHostCheck(false); // clients check the certificate's names; an address or any name may reach us
            hc.addCustomizer(secure);
            SslContextFactory.Server ssl = new SslContextFactory.Server();
            ssl.setKeyStore(tls.keyStore());
            ssl.setKeyStorePassword(new String(TlsFiles.PASSWORD));
            factories = new ConnectionFactory[] {new SslConnectionFactory(ssl, "http/1.1"), http};
        }
        ServerConnector connector = new ServerConnector(server, null, null, null, acceptors, selectors, factories);
        connector.setHost(host);
        connector.setPort(port);
        connector.setIdleTimeout(limits.idleTimeout().toMillis());
        server.addConnector(connector);
        server.setErrorHandler(handler.errorHandler());
        server.setHandler(serving);
        try {
            server.start();
        } catch (IOException e) {
            stopQuietly(server);
            throw new IOException("cannot listen for " + what + " on " + host + ":" + port + ": " + e.getMessage(), e);
        } catch (Exception e) {
            stopQuietly(server);
            throw new IllegalStateException("the server for " + what + " did not start: " + e, e);
        }
        return server;
    }

    private static void stopQuietly(Server server) {
        try {
            server.stop();
        } catch (Exception ignored) {
            // it did not start either
        }
    }

    public static int port(Server server) {
        return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
    }
}
