package dev.mnv3.serve.rest;

import dev.mnv3.serve.RequestLimits;
import dev.mnv3.serve.TlsFiles;
import java.io.IOException;
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
 * Jetty's own refusals as JSON, and TLS when given.
 */
public final class RestServer {
    private static final int INPUT_BUFFER_BYTES = 128 * 1024;

    private RestServer() {
    }

    /** Starts serving {@code handler} on {@code host:port} ({@code tls} null: plaintext); the caller stops it. */
    public static Server start(String host, int port, RestHandler handler, RequestLimits limits, TlsFiles tls) throws IOException {
        QueuedThreadPool pool = new QueuedThreadPool(64, 8);
        pool.setName("mnv3-http");
        Server server = new Server(pool);
        HttpConfiguration hc = new HttpConfiguration();
        hc.setSendServerVersion(false);
        HttpConnectionFactory http = new HttpConnectionFactory(hc);
        // bodies are megabytes: read them in large pieces, not Jetty's 8 KiB (a selector wake-up and a hand-off each)
        http.setInputBufferSize(INPUT_BUFFER_BYTES);
        ServerConnector connector;
        if (tls == null) {
            connector = new ServerConnector(server, http);
        } else {
            SecureRequestCustomizer secure = new SecureRequestCustomizer();
            secure.setSniHostCheck(false); // clients check the certificate's names; an address or any name may reach us
            hc.addCustomizer(secure);
            SslContextFactory.Server ssl = new SslContextFactory.Server();
            ssl.setKeyStore(tls.keyStore());
            ssl.setKeyStorePassword(new String(TlsFiles.PASSWORD));
            connector = new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"), http);
        }
        connector.setHost(host);
        connector.setPort(port);
        connector.setIdleTimeout(limits.idleTimeout().toMillis());
        server.addConnector(connector);
        server.setErrorHandler(handler.errorHandler());
        server.setHandler(handler);
        try {
            server.start();
        } catch (IOException e) {
            stopQuietly(server);
            throw new IOException("cannot listen for HTTP on " + host + ":" + port + ": " + e.getMessage(), e);
        } catch (Exception e) {
            stopQuietly(server);
            throw new IllegalStateException("the HTTP server did not start: " + e, e);
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
