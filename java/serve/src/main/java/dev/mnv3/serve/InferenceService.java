package dev.mnv3.serve;

import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.ImageNetClasses;
import dev.mnv3.core.tensor.Tensor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.IntStream;

/**
 * The protocol-neutral heart of the server: checks a request against the model (every problem a
 * {@link ServeError.Kind#BAD_REQUEST} that names it), turns its input into a tensor (decoding
 * images), hands it to the {@link DynamicBatcher}, and builds the outputs asked for from its
 * rows of the batch's results. REST and gRPC only translate to and from it.
 */
public final class InferenceService {
    private static final Logger LOG = Logger.getLogger(InferenceService.class.getName());

    private final ServedModel model;
    private final DynamicBatcher batcher;
    private final RequestImageDecoder decoder;
    private final ServerMetrics metrics;
    private final ModelStatistics statistics;
    /** Decoding is CPU-bound: at most one image per processor at a time, so a burst of large images cannot fill the heap. */
    private final Semaphore decodeSlots = new Semaphore(Runtime.getRuntime().availableProcessors());

    public InferenceService(ServedModel model, DynamicBatcher batcher, RequestImageDecoder decoder, ServerMetrics metrics,
                            ModelStatistics statistics) {
        this.model = model;
        this.batcher = batcher;
        this.decoder = decoder;
        this.metrics = metrics;
        this.statistics = statistics;
    }

    public ServedModel model() {
        return model;
    }

    public ModelStatistics statistics() {
        return statistics;
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

    /** Runs one request on the model named {@code name}; an unknown model is a BAD_REQUEST here, as KServe's infer answers it. */
    public InferResponse infer(String name, String version, InferRequest request) {
        try {
            requireModel(name, version);
        } catch (ServeError e) {
            throw ServeError.badRequest(e.getMessage());
        }
        Tensor input = input(request);
        List<Wanted> outputs = outputs(request);
        boolean features = outputs.stream().anyMatch(w -> w.feature >= 0);
        DynamicBatcher.Result result = await(batcher.submit(input, features));
        List<InferResponse.Output> out = new ArrayList<>();
        for (Wanted w : outputs) out.add(w.feature >= 0 ? feature(w, result) : logits(w, result));
        return new InferResponse(model.name(), ServedModel.VERSION, request.id(), out);
    }

    private static DynamicBatcher.Result await(java.util.concurrent.CompletableFuture<DynamicBatcher.Result> f) {
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

    // ---- inputs

    private Tensor input(InferRequest request) {
        List<InferRequest.Input> inputs = request.inputs();
        if (inputs.isEmpty()) {
            throw ServeError.badRequest("the request has no inputs; give '" + ServedModel.INPUT + "' (FP32 or FP16 [N,3,H,W]) or '"
                    + ServedModel.IMAGE + "' (BYTES [N], encoded images)");
        }
        if (inputs.size() > 1) {
            throw ServeError.badRequest("the request has " + inputs.size() + " inputs (" + String.join(", ",
                    inputs.stream().map(InferRequest.Input::name).toList()) + "); give one: '" + ServedModel.INPUT + "' or '"
                    + ServedModel.IMAGE + "'");
        }
        InferRequest.Input in = inputs.getFirst();
        return switch (in.name()) {
            case ServedModel.INPUT -> tensorInput(in);
            case ServedModel.IMAGE -> imageInput(in);
            default -> throw ServeError.badRequest("unknown input '" + in.name() + "': the model takes '" + ServedModel.INPUT
                    + "' (FP32 or FP16 [N,3,H,W]) or '" + ServedModel.IMAGE + "' (BYTES [N], encoded images)");
        };
    }

    private Tensor tensorInput(InferRequest.Input in) {
        if (!in.datatype().equals("FP32") && !in.datatype().equals("FP16")) {
            throw ServeError.badRequest("input '" + in.name() + "' must be FP32 or FP16, got " + in.datatype());
        }
        long[] shape = in.shape();
        if (shape.length != 4) {
            throw ServeError.badRequest("input '" + in.name() + "' must have shape [N,3,H,W], got " + Arrays.toString(shape));
        }
        int[] dims = new int[4];
        for (int i = 0; i < 4; i++) {
            if (shape[i] < 1 || shape[i] > Integer.MAX_VALUE) {
                throw ServeError.badRequest("input '" + in.name() + "' has an impossible dimension in " + Arrays.toString(shape));
            }
            dims[i] = (int) shape[i];
        }
        checkElements(in, shape);
        checkBatch(dims[0]);
        try {
            model.graph().checkInput(dims);
        } catch (IllegalArgumentException e) {
            throw ServeError.badRequest(e.getMessage());
        }
        return new Tensor(dims, in.floats());
    }

    private Tensor imageInput(InferRequest.Input in) {
        if (!in.datatype().equals("BYTES")) {
            throw ServeError.badRequest("input '" + in.name() + "' must be BYTES (one encoded image per element), got " + in.datatype());
        }
        long[] shape = in.shape();
        if (!(shape.length == 1 || (shape.length == 2 && shape[1] == 1)) || shape[0] < 1) {
            throw ServeError.badRequest("input '" + in.name() + "' must have shape [N] or [N,1], got " + Arrays.toString(shape));
        }
        checkElements(in, shape);
        int n = (int) shape[0];
        checkBatch(n);
        int crop = model.preprocessing().crop(), per = Graph.INPUT_CHANNELS * crop * crop;
        Tensor x = Tensor.zeros(n, Graph.INPUT_CHANNELS, crop, crop);
        for (int i = 0; i < n; i++) {
            float[] chw = decode(in.bytes().get(i), i);
            System.arraycopy(chw, 0, x.data(), i * per, per);
        }
        return x;
    }

    private float[] decode(byte[] encoded, int index) {
        try {
            decodeSlots.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ServeError(ServeError.Kind.UNAVAILABLE, "interrupted while waiting to decode an image");
        }
        try {
            return decoder.decode(encoded, model.preprocessing());
        } catch (ServeError e) {
            throw ServeError.badRequest("input '" + ServedModel.IMAGE + "' element " + index + ": " + e.getMessage());
        } catch (LinkageError e) {
            throw new ServeError(ServeError.Kind.INTERNAL, "this Java runtime cannot decode images (it lacks the java.desktop module)", e);
        } finally {
            decodeSlots.release();
        }
    }

    private static void checkElements(InferRequest.Input in, long[] shape) {
        long n = RawTensors.elements(shape, "input '" + in.name() + "'");
        if (n != in.elements()) {
            throw ServeError.badRequest("input '" + in.name() + "' has shape " + Arrays.toString(shape) + " (" + n
                    + " elements) but holds " + in.elements());
        }
    }

    private void checkBatch(int n) {
        int max = batcher.policy().maxBatchSize();
        if (n > max) throw ServeError.badRequest("a request holds at most " + max + " images (max_batch_size), got " + n);
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
            IntStream.range(0, k).boxed().sorted(Comparator.comparingDouble((Integer c) -> -v[row + c]).thenComparingInt(c -> c))
                    .limit(top).forEach(c -> labels.add(classification(v[row + c], c, k)));
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
