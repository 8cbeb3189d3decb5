package dev.mnv3.cli;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.io.InputFiles;
import dev.mnv3.core.weights.Checkpoint;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.serve.BatchPolicy;
import dev.mnv3.serve.CoreImageDecoder;
import dev.mnv3.serve.InferenceServer;
import dev.mnv3.serve.ModelInstances;
import dev.mnv3.serve.RequestLimits;
import dev.mnv3.serve.ServedModel;
import dev.mnv3.serve.ServerConfig;
import dev.mnv3.serve.ServerSecurity;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false, description = {
        "Serve the model over KServe v2 (the protocol of Triton, KServe and tritonclient) with a dynamic batcher. "
                + "REST on --http-port, gRPC (inference.GRPCInferenceService) on --grpc-port, and the health checks and "
                + "metrics also on --probe-port, on threads of their own, for Kubernetes' probes and Prometheus.",
        "",
        "Inputs (one per request): 'input' FP32 or FP16 [N,3,H,W], finite values only",
        "unless --allow-non-finite; or 'image' BYTES [N], encoded JPEG/PNG/WebP/BMP/GIF",
        "(or base64 of one: JSON strings), decoded and preprocessed on the server as",
        "classify does (--resize, --crop), within --max-decode-ratio and",
        "--decode-timeout-ms. Outputs: 'logits' [N,K] (with the output parameter",
        "classification=K: the top K classes as \"score:index:label\"), and the feature",
        "maps 'stride2' ... 'stride32' when asked for. Tensors travel as JSON or as",
        "Triton's binary tensor data.",
        "",
        "REST: GET /v2, /v2/health/live, /v2/health/ready, /v2/models/NAME,",
        "/v2/models/NAME/ready, /v2/models/NAME/config, /v2/models/NAME/stats;",
        "POST /v2/models/NAME/infer; GET /metrics (Prometheus). Errors are",
        "{\"error\": \"...\"}: 400 for a bad request, 401 without the token, 408 when a",
        "body stops arriving, 429 (Retry-After) when --max-receiving requests are being",
        "received or the queue is full, 503 while warming up or shutting down. Health",
        "checks answer 200, or 400 when not live or ready. The probe port answers",
        "/v2/health/live, /v2/health/ready, /v2/models/NAME/ready and /metrics only",
        "(404 for the rest), with the REST port's TLS and token rules.",
        "",
        "Ready once every instance has run a warm-up inference. SIGTERM drains: new",
        "requests get 503 / UNAVAILABLE, requests in flight are answered, then it exits",
        "with status 0. ./mnv3 gives serve a 2 GiB heap (MNV3_JAVA_OPTS=-Xmx... for more).",
        "",
        "  ./mnv3 serve --model large --weights mobilenet_v3_large.pth",
        "  curl -s localhost:8000/v2/models/large",
        ""})
public final class ServeCommand implements Subcommand {
    /** Found through {@link Subcommand}'s services entry of this module. */
    public ServeCommand() {
    }

    @Mixin
    ModelOptions model;

    @Mixin
    BackendOptions backend;

    @Option(names = "--weights", paramLabel = "W",
            description = "Weights to serve (default: seeded random weights, with a warning, as demo runs): " + CheckpointOptions.WEIGHTS_FILES)
    Path weights;

    @Mixin
    CheckpointOptions checkpoint;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the random weights without --weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--name", paramLabel = "NAME",
            description = "The name clients address the model by (default: the --model value; a table file's name without .json).")
    String name;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "0.0.0.0",
            description = "Address to listen on: 0.0.0.0 every interface, 127.0.0.1 this machine only (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--http-port", paramLabel = "P", defaultValue = "8000", description = "REST port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int httpPort;

    @Option(names = "--grpc-port", paramLabel = "P", defaultValue = "8001", description = "gRPC port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int grpcPort;

    @Option(names = "--probe-port", paramLabel = "P|off", defaultValue = "8002",
            description = "Port that answers only the health checks and /metrics (Triton's metrics port), on a selector and threads "
                    + "that inference connections never use, so that probes do not wait behind inference traffic; 0 picks a free one, off "
                    + "opens none (default: ${DEFAULT-VALUE}).")
    String probePort;

    @Option(names = "--max-batch-size", paramLabel = "N", defaultValue = "8",
            description = "Most images the batcher puts in one batch; also the most one request may hold. 1 turns batching off "
                    + "(default: ${DEFAULT-VALUE}).")
    int maxBatchSize;

    @Option(names = "--max-queue-delay-us", paramLabel = "US", defaultValue = "1000",
            description = "How long the oldest waiting request may wait for others to join its batch, in microseconds; a full "
                    + "batch goes at once (default: ${DEFAULT-VALUE}).")
    long maxQueueDelayMicros;

    @Option(names = "--queue-limit", paramLabel = "N", defaultValue = "128",
            description = "Most requests waiting for a batch; more are refused with 429 / RESOURCE_EXHAUSTED (default: ${DEFAULT-VALUE}).")
    int queueLimit;

    @Option(names = "--instances", paramLabel = "N", defaultValue = "0",
            description = "Model instances running batches at once: on the CPU each a model with its share of --threads, on "
                    + "CUDA callers of one model on separate streams (at most --cuda-streams, default 4, run at once) "
                    + "(default: 1 on the CPU, 2 on CUDA).")
    int instances;

    @Option(names = "--pad-batches", paramLabel = "auto|off|N,N,...", defaultValue = "auto",
            description = "Batch sizes a formed batch is padded up to (zero images, sliced off after): on CUDA each batch size has "
                    + "its own plan and captured graph, and a model keeps 4 per lane, so auto pads to 1, max/4, max/2 and max "
                    + "there; on the CPU padding only costs, so auto is off. A list must end with --max-batch-size "
                    + "(default: ${DEFAULT-VALUE}).")
    String padBatches;

    @Option(names = "--max-body-mb", paramLabel = "MB", defaultValue = "32",
            description = "Largest request body (REST) or message (gRPC) accepted, in MiB (default: ${DEFAULT-VALUE}).")
    int maxBodyMb;

    @Option(names = "--max-receiving", paramLabel = "N", defaultValue = "0",
            description = "Most inference requests being received and prepared at once (body read, parsed, images decoded); "
                    + "more are answered 429 / RESOURCE_EXHAUSTED before their body is parsed (default: 8 per processor, at least 16).")
    int maxReceiving;

    @Option(names = "--max-receiving-mb", paramLabel = "MB", defaultValue = "0",
            description = "Most body bytes of the requests being received at once, in MiB (default: an eighth of the heap).")
    int maxReceivingMb;

    @Option(names = "--allow-non-finite", description = "Accept NaN and infinite values in 'input' (by default refused with 400 / "
            + "INVALID_ARGUMENT naming the first; they make every output NaN).")
    boolean allowNonFinite;

    @Option(names = "--max-decode-ratio", paramLabel = "N", defaultValue = "1000",
            description = "Most pixels one 'image' may decode to, per pixel of the crop (--crop squared): a larger image is refused "
                    + "from its header, a larger JPEG decoded scaled down where libjpeg-turbo is installed (default: ${DEFAULT-VALUE}, "
                    + "50 megapixels for a 224 crop; never more than PIL's 179 megapixels).")
    int maxDecodeRatio;

    @Option(names = "--decode-timeout-ms", paramLabel = "MS", defaultValue = "5000",
            description = "How long one image may take to decode before it is stopped and refused; 0: no limit (default: ${DEFAULT-VALUE}).")
    long decodeTimeoutMs;

    @Option(names = "--tls-cert", paramLabel = "CERT.pem",
            description = "Serve REST (https) and gRPC over TLS with this PEM certificate chain; needs --tls-key.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "KEY.pem",
            description = "The certificate's private key: PEM, PKCS#8 (\"BEGIN PRIVATE KEY\"), unencrypted.")
    Path tlsKey;

    @Option(names = "--auth-token-file", paramLabel = "FILE",
            description = "Require 'Authorization: Bearer TOKEN' (REST) or the 'authorization' metadata (gRPC) on every call but the "
                    + "health checks, TOKEN being this file's content (surrounding whitespace dropped).")
    Path authTokenFile;

    /** How 'image' inputs are resized and cropped: classify's and batch's options. */
    @Mixin
    PreprocessingOptions preprocessingOptions;

    @Option(names = "--drain-seconds", paramLabel = "S", defaultValue = "30",
            description = "On SIGTERM, how long to wait for requests in flight before stopping anyway (default: ${DEFAULT-VALUE}).")
    int drainSeconds;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ServerConfig config = serverConfig().withSecurity(security());
        CoreImageDecoder images = imageDecoder();
        Preprocessing prep = preprocessingOptions.preprocessing();
        String served = servedName();
        Backend b = backend.resolve();
        boolean oneModel = ModelInstances.sharesOneModel(b);
        int count = instances > 0 ? instances : oneModel ? 2 : 1;
        BatchPolicy policy = config.batching().withPaddedSizes(paddedSizes(padBatches, maxBatchSize, oneModel));
        config = config.withBatching(policy);
        Graph graph;
        Weights w;
        if (weights == null) {
            err.println("mnv3: warning: no --weights: serving seeded random weights (seed " + seed + "); its classes mean nothing");
            err.flush();
            graph = Graph.of(model.config());
            w = RandomWeights.generate(graph, seed);
        } else {
            try (Checkpoint c = checkpoint.open(weights, err)) {
                graph = Graph.of(model.configFor(c));
                w = c.weightsFor(graph);
            }
        }
        out.printf("mnv3 serve: %s as '%s' on %s, %d instance%s; %s; warming up ...%n", graph.config().describe(), served, b.name(),
                count, count == 1 ? "" : "s", policy);
        out.flush();
        ModelInstances compiled = ModelInstances.compile(b, graph, w, backend.options(), count);
        InferenceServer server = InferenceServer.start(config, new ServedModel(served, graph, prep, compiled.backend(), allowNonFinite),
                compiled, images);
        // SIGTERM (and Ctrl-C) run the hooks: drain, stop, and exit 0 when every request in flight was answered
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("mnv3-shutdown").unstarted(() -> {
            out.println("mnv3 serve: shutting down: draining requests in flight ...");
            out.flush();
            server.close();
            out.println("mnv3 serve: stopped");
            out.flush();
            err.flush();
            // a signal's exit status is 128 + its number; a clean drain is a success (the hooks have nothing left to do)
            Runtime.getRuntime().halt(server.drainedCleanly() ? 0 : 1);
        }));
        String scheme = config.security().tls() ? "https" : "http";
        int probes = server.probePort() != ServerConfig.NO_PROBE_PORT ? server.probePort() : server.httpPort();
        out.printf("mnv3 serve: ready: REST %s://%s:%d  gRPC %s:%d%s  %s %s://%s:%d/metrics%s%n", scheme, config.host(), server.httpPort(),
                config.host(), server.grpcPort(), config.security().tls() ? " (TLS)" : "",
                server.probePort() != ServerConfig.NO_PROBE_PORT ? "probes and metrics" : "metrics", scheme, config.host(), probes,
                config.security().authenticates() ? "  (token required)" : "");
        out.flush();
        server.awaitStopped();
        return 0;
    }

    private ServerConfig serverConfig() {
        if (maxBodyMb < 1 || maxBodyMb > 1024) throw new Main.UserError("--max-body-mb must be from 1 to 1024, got " + maxBodyMb);
        if (drainSeconds < 0) throw new Main.UserError("--drain-seconds must be >= 0, got " + drainSeconds);
        if (instances < 0 || instances > 64) throw new Main.UserError("--instances must be from 1 to 64, got " + instances);
        if (maxReceiving < 0 || maxReceiving > 100_000) {
            throw new Main.UserError("--max-receiving must be from 1 to 100000 (0: the default), got " + maxReceiving);
        }
        if (maxReceivingMb < 0 || maxReceivingMb > 1 << 20) {
            throw new Main.UserError("--max-receiving-mb must be from 1 to 1048576 (0: the default), got " + maxReceivingMb);
        }
        try {
            RequestLimits limits = RequestLimits.defaults(maxBodyMb << 20);
            limits = limits.withReceiving(maxReceiving > 0 ? maxReceiving : limits.maxReceiving(),
                    maxReceivingMb > 0 ? (long) maxReceivingMb << 20 : limits.maxReceivingBytes());
            return new ServerConfig(host, httpPort, grpcPort, probePort(), limits, new BatchPolicy(maxBatchSize, maxQueueDelayMicros, queueLimit),
                    Duration.ofSeconds(drainSeconds), ServerSecurity.NONE);
        } catch (IllegalArgumentException e) {
            throw new Main.UserError(e.getMessage().replace("max batch size", "--max-batch-size")
                    .replace("max queue delay", "--max-queue-delay-us").replace("queue limit", "--queue-limit"));
        }
    }

    /** --probe-port: a port, 0 for any free one, or off. */
    private int probePort() {
        if (probePort.strip().equals("off")) return ServerConfig.NO_PROBE_PORT;
        try {
            int p = Integer.parseInt(probePort.strip());
            if (p >= 0 && p <= 65535) return p;
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new Main.UserError("--probe-port takes a port from 0 to 65535 or off, got '" + probePort + "'");
    }

    /** --tls-cert and --tls-key (both or neither), and the token of --auth-token-file. */
    private ServerSecurity security() throws IOException {
        if ((tlsCert == null) != (tlsKey == null)) throw new Main.UserError("--tls-cert and --tls-key go together: give both or neither");
        String token = null;
        if (authTokenFile != null) {
            InputFiles.requireRegularFile(authTokenFile); // not a FIFO that would block the start
            token = Files.readString(authTokenFile, StandardCharsets.UTF_8).strip();
            if (token.isEmpty()) throw new Main.UserError("--auth-token-file " + authTokenFile + " is empty");
        }
        try {
            return new ServerSecurity(tlsCert, tlsKey, token);
        } catch (IllegalArgumentException e) {
            throw new Main.UserError("--auth-token-file " + authTokenFile + ": " + e.getMessage());
        }
    }

    private CoreImageDecoder imageDecoder() {
        if (maxDecodeRatio < 1) throw new Main.UserError("--max-decode-ratio must be >= 1, got " + maxDecodeRatio);
        if (decodeTimeoutMs < 0) throw new Main.UserError("--decode-timeout-ms must be >= 0, got " + decodeTimeoutMs);
        return new CoreImageDecoder(maxDecodeRatio, Duration.ofMillis(decodeTimeoutMs));
    }

    /** --name, else the model's name: large, small, or a table file's name without its directory and .json. */
    private String servedName() {
        String n = name != null ? name : Path.of(model.model).getFileName().toString().replaceFirst("\\.json$", "");
        if (!ServedModel.isValidName(n)) {
            throw new Main.UserError("--name must be 1 to 128 letters, digits, '_', '.' or '-', got '" + n + "'");
        }
        return n;
    }

    /** --pad-batches: auto (the ladder where each batch size is a plan of its own, else none), off, or a list. */
    static int[] paddedSizes(String spec, int max, boolean planPerBatchSize) {
        return switch (spec.trim()) {
            case "auto" -> planPerBatchSize ? BatchPolicy.ladder(max) : new int[0];
            case "off" -> new int[0];
            default -> {
                int[] sizes;
                try {
                    sizes = Arrays.stream(spec.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
                } catch (NumberFormatException e) {
                    throw new Main.UserError("--pad-batches takes auto, off or a list of batch sizes, got '" + spec + "'");
                }
                try {
                    new BatchPolicy(max, 0, 1, sizes);
                } catch (IllegalArgumentException e) {
                    throw new Main.UserError("--pad-batches: " + e.getMessage());
                }
                yield sizes;
            }
        };
    }
}
