package dev.mnv3.serve;

import dev.mnv3.api.Classifications;
import dev.mnv3.core.image.ImageNetClasses;
import dev.mnv3.core.tensor.Tensor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The protocol-neutral heart of the server: checks a request against the model (every problem a
 * {@link ServeError.Kind#BAD_REQUEST} that names it), turns its input into the batcher's
 * ({@link RequestInputs}: images decoded on the {@link CpuWork} threads), hands it to the
 * {@link DynamicBatcher}, and builds the outputs asked for from its rows of the batch's results.
 * REST and gRPC only translate to and from it, and admit requests first ({@link Admission}).
 */
public final class InferenceService {
    private static final Logger LOG = Logger.getLogger(InferenceService.class.getName());

    private final ServedModel model;
    private final DynamicBatcher batcher;
    private final RequestInputs inputs;
    private final ServerMetrics metrics;
    private final ModelStatistics statistics;
    private final Admission admission;
    private final CpuWork cpu;

    public InferenceService(ServedModel model, DynamicBatcher batcher, RequestImageDecoder decoder, ServerMetrics metrics,
                            ModelStatistics statistics, Admission admission, CpuWork cpu) {
        this.model = model;
        this.batcher = batcher;
        this.inputs = new RequestInputs(model, batcher.policy(), decoder, cpu);
        this.metrics = metrics;
        this.statistics = statistics;
        this.admission = admission;
        this.cpu = cpu;
    }

    public ServedModel model() {
        return model;
    }

    public ModelStatistics statistics() {
        return statistics;
    }

    public BatchPolicy policy() {
        return batcher.policy();
    }

    /** The threads that run the heavy parts of requests; the transports parse and encode large bodies on them. */
    public CpuWork cpu() {
        return cpu;
    }

    /**
     * Admits a request of {@code bytes} before any of its work is done: OVERLOADED when as many as
     * the limit are being received already, or the batcher's queue is full.
     */
    public Admission.Ticket admit(long bytes) {
        batcher.requireRoom();
        return admission.enter(bytes);
    }

    /** NOT_FOUND unless {@code name} (and {@code version}, when given) is the served model. */
    public void requireModel(String name, String version) {
        if (!model.name().equals(name)) {
            throw new ServeError(ServeError.Kind.NOT_FOUND, "unknown model '" + name + "' (this server serves '" + model.name() + "')");
        }
        if (version != null && !version.isEmpty() && !version.equals(ServedModel.VERSION)) {
            throw new ServeError(ServeError.Kind.NOT_FOUND, "model '" + name + "' has no version '" + version
                    + "' (it has version " + ServedModel.VERSION + ")");
        }
    }

    /** Records an inference call's outcome ({@code failure} null: served) in the metrics and statistics. */
    public void record(String protocol, ServeError.Kind failure, long nanos) {
        metrics.requestDone(protocol, failure, nanos);
        if (failure == null) statistics.requestSucceeded(nanos);
        else statistics.requestFailed(nanos);
    }

    /**
     * Runs one admitted request on the model named {@code name} (an unknown model is a BAD_REQUEST
     * here, as KServe's infer answers it); its ticket is given back once its input is queued.
     */
    public InferResponse infer(String name, String version, InferRequest request, Admission.Ticket ticket) {
        try {
            requireModel(name, version);
        } catch (ServeError e) {
            throw ServeError.badRequest(e.getMessage());
        }
        List<Wanted> outputs = outputs(request);
        boolean features = outputs.stream().anyMatch(w -> w.feature >= 0);
        CompletableFuture<DynamicBatcher.Result> queued;
        try {
            queued = batcher.submit(inputs.of(request), features);
        } finally {
            ticket.close();
        }
        DynamicBatcher.Result result = await(queued);
        List<InferResponse.Output> out = new ArrayList<>();
        for (Wanted w : outputs) out.add(w.feature >= 0 ? feature(w, result) : logits(w, result));
        return new InferResponse(model.name(), ServedModel.VERSION, request.id(), out);
    }

    private static DynamicBatcher.Result await(CompletableFuture<DynamicBatcher.Result> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ServeError(ServeError.Kind.UNAVAILABLE, "interrupted while waiting for the model");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ServeError se) throw se;
            throw new ServeError(ServeError.Kind.INTERNAL, "the model failed: " + e.getCause(), e.getCause());
        }
    }

    // ---- outputs

    /** An output asked for: the feature level it is (-1: logits), its top-k (0: the tensor), and whether binary. */
    private record Wanted(String name, int feature, int classification, boolean binary) {
    }

    private List<Wanted> outputs(InferRequest request) {
        List<InferRequest.RequestedOutput> asked = request.outputs().isEmpty()
                ? List.of(new InferRequest.RequestedOutput(ServedModel.LOGITS, null, 0)) : request.outputs();
        Set<String> seen = new HashSet<>();
        List<Wanted> wanted = new ArrayList<>();
        int classes = model.graph().numClasses();
        for (InferRequest.RequestedOutput o : asked) {
            int feature = model.featureIndex(o.name());
            if (feature < 0 && !o.name().equals(ServedModel.LOGITS)) {
                throw ServeError.badRequest("unknown output '" + o.name() + "' (the model gives " + String.join(", ", model.outputNames()) + ")");
            }
            if (!seen.add(o.name())) throw ServeError.badRequest("output '" + o.name() + "' is asked for twice");
            if (o.classification() != 0 && feature >= 0) {
                throw ServeError.badRequest("classification applies to '" + ServedModel.LOGITS + "', not to '" + o.name() + "'");
            }
            if (o.classification() < 0 || o.classification() > classes) {
                throw ServeError.badRequest("classification must be from 1 to " + classes + " (the classes), got " + o.classification());
            }
            wanted.add(new Wanted(o.name(), feature, o.classification(), o.binary() != null ? o.binary() : request.binaryOutputs()));
        }
        return wanted;
    }

    private InferResponse.Output logits(Wanted w, DynamicBatcher.Result r) {
        Tensor logits = r.logits();
        if (w.classification == 0) {
            return new InferResponse.Output(w.name, "FP32", longs(logits.shape()), logits.data(), null, w.binary);
        }
        int n = logits.dim(0), k = logits.dim(1), top = w.classification;
        List<byte[]> labels = new ArrayList<>(n * top);
        float[] v = logits.data();
        for (int i = 0; i < n; i++) {
            int row = i * k;
            for (int c : Classifications.topIndices(v, row, k, top)) labels.add(classification(v[row + c], c, k));
        }
        return new InferResponse.Output(w.name, "BYTES", new long[] {n, top}, null, labels, w.binary);
    }

    /** Triton's classification string: "value:index", with ":label" where the model has ImageNet's classes. */
    private static byte[] classification(float value, int index, int classes) {
        String s = String.format(Locale.ROOT, "%f:%d", value, index);
        if (classes == 1000) s += ":" + ImageNetClasses.name(index, classes);
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static InferResponse.Output feature(Wanted w, DynamicBatcher.Result r) {
        Tensor t = r.features().get(w.feature);
        return new InferResponse.Output(w.name, "FP32", longs(t.shape()), t.data(), null, w.binary);
    }

    private static long[] longs(int[] shape) {
        return Arrays.stream(shape).asLongStream().toArray();
    }

    /** Logs a failure the client cannot fix (the model itself failed) once, with its cause. */
    public static void logInternal(ServeError e) {
        if (e.kind() == ServeError.Kind.INTERNAL) LOG.log(Level.WARNING, e.getMessage(), e.getCause());
    }
}
