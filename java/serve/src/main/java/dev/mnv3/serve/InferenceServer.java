package dev.mnv3.serve;

import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.serve.grpc.GrpcServer;
import dev.mnv3.serve.rest.RestHandler;
import dev.mnv3.serve.rest.RestServer;
import io.grpc.Server;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * mnv3 serve: one model behind KServe v2 REST (Jetty) and gRPC (grpc-java), one
 * {@link DynamicBatcher} in front of its instances, Prometheus metrics and Triton's statistics.
 *
 * <p>Threads: Jetty's platform threads answer health checks, metadata and scrapes at once (and
 * the probe port, when configured, answers health checks and scrapes on a selector of its own); each
 * inference call (REST or gRPC) runs on a virtual thread of its own, admitted before its body is
 * read ({@link Admission}), and its processor-heavy parts (parsing, decoding images, writing large
 * answers) run on the {@link CpuWork} threads, one per processor, so that no amount of work in
 * flight keeps a health check waiting.
 *
 * <p>Life: {@link #start} binds the ports (live from then on), warms every instance up with
 * real inferences at the batch sizes it will run, and only then becomes ready. {@link #close}
 * (the CLI calls it on SIGTERM) drains: not ready, new inference calls refused with 503 /
 * UNAVAILABLE, calls in flight answered (up to the drain timeout); then the listeners stop and
 * the model instances are closed.
 */
public final class InferenceServer implements AutoCloseable {
    public static final String NAME = "mnv3";
    private static final Logger LOG = Logger.getLogger(InferenceServer.class.getName());
    /** Jetty announces itself at INFO; keep its warnings only (a strong reference: JUL holds loggers weakly). */
    private static final Logger JETTY_LOG = Logger.getLogger("org.eclipse.jetty");
    /** grpc-java logs a client's message over the size limit as a warning with a stack trace; the client gets the status. */
    private static final Logger GRPC_STREAM_LOG = Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerStream");

    private final ServerConfig config;
    private final ServedModel model;
    private final ModelInstances instances;
    private final ServerState state = new ServerState();
    private final DynamicBatcher batcher;
    private final InferenceService service;
    private final ServerMetrics metrics;
    private final CpuWork cpu = CpuWork.perProcessor();
    /** Each inference call (REST) and each gRPC call runs on a virtual thread of its own. */
    private final ExecutorService callThreads = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("mnv3-call-", 0).factory());
    private org.eclipse.jetty.server.Server http, probes;
    private Server grpc;
    private boolean closed, drainedCleanly;

    private InferenceServer(ServerConfig config, ServedModel model, ModelInstances instances, RequestImageDecoder decoder) {
        this.config = config;
        this.model = model;
        this.instances = instances;
        ModelStatistics statistics = new ModelStatistics();
        this.metrics = new ServerMetrics(config.batching().maxBatchSize());
        this.batcher = new DynamicBatcher(model.graph(), instances.perWorker(), config.batching(), BatchObserver.all(metrics, statistics));
        Admission admission = new Admission(config.limits().maxReceiving(), config.limits().maxReceivingBytes());
        metrics.watch(batcher::queueDepth, state::inFlight, admission::requests);
        this.service = new InferenceService(model, batcher, decoder, metrics, statistics, admission, cpu);
    }

    /**
     * Starts serving {@code model} on {@code instances} (the server owns them from now on and
     * closes them): binds the ports, warms up, and returns once ready. On failure everything
     * started is stopped again.
     */
    public static InferenceServer start(ServerConfig config, ServedModel model, ModelInstances instances, RequestImageDecoder decoder)
            throws IOException {
        JETTY_LOG.setLevel(Level.WARNING);
        GRPC_STREAM_LOG.setLevel(Level.SEVERE);
        InferenceServer s = new InferenceServer(config, model, instances, decoder);
        try {
            s.listen();
            s.warmUp();
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        s.state.ready(true);
        return s;
    }

    private void listen() throws IOException {
        String version = version();
        ServerSecurity security = config.security();
        TlsFiles tls = security.tls() ? TlsFiles.read(security.tlsCertificate(), security.tlsKey()) : null;
        RestHandler rest = new RestHandler(service, state, metrics, NAME, version, instances.count(), config.limits(), security, callThreads);
        http = RestServer.start(config.host(), config.httpPort(), rest, config.limits(), tls);
        if (config.probePort() != ServerConfig.NO_PROBE_PORT) {
            probes = RestServer.startProbes(config.host(), config.probePort(), rest, config.limits(), tls);
        }
        grpc = GrpcServer.start(config.host(), config.grpcPort(), service, state, NAME, version, instances.count(), config.limits(),
                security, tls, callThreads);
    }

    /**
     * Runs every worker's instance at once (so that each CUDA lane is taken and warmed) at each
     * batch size it will run, twice: the first run of a shape plans it, the second captures its
     * CUDA graph. Inputs are the size images are cropped to.
     */
    private void warmUp() {
        BatchPolicy policy = config.batching();
        int[] sizes = policy.paddedSizes().length > 0 ? policy.paddedSizes()
                : Arrays.stream(new int[] {1, policy.maxBatchSize()}).distinct().toArray();
        int crop = model.preprocessing().crop();
        List<CompiledModel> workers = instances.perWorker();
        long start = System.nanoTime();
        try (ExecutorService pool = Executors.newFixedThreadPool(workers.size(), Thread.ofPlatform().name("mnv3-warmup-", 0).factory())) {
            List<Future<?>> runs = new ArrayList<>();
            for (CompiledModel m : workers) {
                runs.add(pool.submit(() -> {
                    for (int n : sizes) {
                        Tensor x = Tensor.zeros(n, Graph.INPUT_CHANNELS, crop, crop);
                        for (int i = 0; i < 2; i++) m.run(x);
                    }
                }));
            }
            for (Future<?> f : runs) f.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the warm-up inference failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during the warm-up");
        }
        LOG.fine(() -> String.format("warm-up: %d instances, batch sizes %s, %.1f s", workers.size(), Arrays.toString(sizes),
                (System.nanoTime() - start) / 1e9));
    }

    private static String version() {
        String v = InferenceServer.class.getPackage().getImplementationVersion();
        return v != null ? v : "development";
    }

    public int httpPort() {
        return RestServer.port(http);
    }

    public int grpcPort() {
        return grpc.getPort();
    }

    /** The probe port's number, or {@link ServerConfig#NO_PROBE_PORT} when there is none. */
    public int probePort() {
        return probes != null ? RestServer.port(probes) : ServerConfig.NO_PROBE_PORT;
    }

    public ServerState state() {
        return state;
    }

    public ServedModel model() {
        return model;
    }

    /**
     * Drains and stops: waits up to the drain timeout for calls in flight (new ones are refused),
     * then stops the listeners and closes the model instances. Safe to call twice.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        // refuse new calls; the admitted ones still reach the batcher, which stops waiting for company; their answers go out
        state.beginDrain();
        batcher.stopDelaying();
        boolean drained;
        try {
            drained = state.awaitIdle(config.drainTimeout());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            drained = false;
        }
        if (!drained) {
            LOG.warning("shutdown: requests still in flight after " + config.drainTimeout().toMillis() + " ms; stopping anyway");
        }
        drainedCleanly = drained;
        batcher.drain(Duration.ofSeconds(1));
        if (grpc != null) {
            grpc.shutdown();
            try {
                if (!grpc.awaitTermination(5, TimeUnit.SECONDS)) grpc.shutdownNow();
            } catch (InterruptedException e) {
                grpc.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
        stop(http, "the HTTP server");
        stop(probes, "the probe port");
        batcher.close();
        callThreads.close();
        cpu.close();
        try {
            instances.close();
        } finally {
            state.stopped();
        }
    }

    private static void stop(org.eclipse.jetty.server.Server jetty, String what) {
        if (jetty == null) return;
        try {
            jetty.stop();
        } catch (Exception e) {
            LOG.log(Level.WARNING, "stopping " + what + ": " + e, e);
        }
    }

    /** Whether {@link #close} answered every call that was in flight before it stopped. */
    public synchronized boolean drainedCleanly() {
        return closed && drainedCleanly;
    }

    /** Blocks until {@link #close} has finished. */
    public void awaitStopped() throws InterruptedException {
        state.awaitStopped();
    }
}
