package dev.mnv3.cuda;

import dev.mnv3.core.Arguments;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.CudaSettings;
import dev.mnv3.core.backend.CudnnMode;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.DeviceTensor;
import dev.mnv3.core.tensor.HostTensor;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cuda.exec.Lane;
import dev.mnv3.cuda.exec.ModelResources;
import dev.mnv3.cuda.exec.PlanKey;
import dev.mnv3.cuda.exec.PlanExecutor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import dev.mnv3.cuda.exec.CudaRuntime;
import dev.mnv3.cuda.exec.CudaTensor;
import dev.mnv3.cuda.exec.DeviceWeights;
import dev.mnv3.cuda.exec.LanePool;
import dev.mnv3.cuda.exec.PlatformThreads;
import dev.mnv3.cuda.ffi.Cleanup;
import dev.mnv3.cuda.ffi.Cudnn;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.KernelChoice;
import dev.mnv3.cuda.plan.StorageType;
import dev.mnv3.cuda.plan.WeightLayout;

/**
 * A graph compiled for the GPU: folded weights uploaded once and shared, and up to
 * {@link CudaSettings#streams()} lanes, each a stream with its own cuDNN handle and its own
 * {@link PlanExecutor} per input shape (the last few shapes are kept). Calls from several threads
 * run at once on different streams, so one thread's copies and kernels overlap another's; a call
 * that finds every lane busy waits for one. Each call sets the CUDA context current on its
 * thread; calls from virtual threads run their GPU work on a platform thread
 * ({@link PlatformThreads}). Close it to free the device memory (it waits for calls in flight); closing twice is
 * harmless, using it after close is an {@link IllegalStateException}.
 */
public final class CudaModel implements CompiledModel {
    private final Graph graph;
    private final CudaRuntime runtime;
    private final Arena arena = Arena.ofShared();
    private final ModelResources resources;
    private final LanePool<Lane> lanes;
    private volatile boolean closed;

    /** The default settings, with or without CUDA graphs (tests). */
    CudaModel(CudaRuntime runtime, Graph graph, Weights weights, Precision precision, boolean cudaGraphs) {
        this(runtime, graph, weights, precision, cudaGraphs, CudnnMode.AUTO);
    }

    /** The default settings, with or without CUDA graphs, and {@code cudnn} (tests). */
    CudaModel(CudaRuntime runtime, Graph graph, Weights weights, Precision precision, boolean cudaGraphs, CudnnMode cudnn) {
        this(runtime, graph, weights, precision, CudaSettings.defaults().withGraphs(cudaGraphs).withCudnn(cudnn));
    }

    /** On {@code runtime} (the device {@code settings} names is the caller's to open). */
    CudaModel(CudaRuntime runtime, Graph graph, Weights weights, Precision precision, CudaSettings settings) {
        this.runtime = runtime;
        this.graph = graph;
        DeviceWeights deviceWeights = null;
        try {
            CudaRuntime.LoadedCudnn dnn = runtime.cudnnFor(settings.cudnn());
            if (dnn == null && settings.asksForCudnn()) {
                throw new IllegalArgumentException(settings.cudnnKind() + " is CUDNN, but this model runs without cuDNN ("
                        + (settings.cudnn() == CudnnMode.OFF ? "CudaSettings.cudnn is OFF" : "cuDNN was not found") + ")");
            }
            runtime.makeCurrent();
            deviceWeights = new DeviceWeights(runtime, WeightLayout.of(graph, weights, StorageType.of(precision)));
            boolean graphs = settings.graphs() && !settings.debug();
            resources = new ModelResources(runtime, precision, dnn, deviceWeights, Cudnn.alphaBeta(arena),
                    java.util.Collections.synchronizedSet(new java.util.LinkedHashSet<>()), settings, graphs);
            // a lane is created on first demand, perhaps by a virtual thread: its stream and handle on a platform one
            lanes = new LanePool<>(settings.resolvedStreams(), () -> PlatformThreads.call(() -> new Lane(resources)));
        } catch (RuntimeException e) {
            if (deviceWeights != null) deviceWeights.close();
            arena.close();
            throw e;
        }
    }

    @Override
    public Graph graph() {
        return graph;
    }

    @Override
    public String backend() {
        return CudaBackend.NAME;
    }

    @Override
    public boolean devicePreprocessing() {
        return true;
    }

    @Override
    public String kernelChoice() {
        return usesCudnn() ? "with cuDNN" : "without cuDNN";
    }

    public Precision precision() {
        return resources.precision();
    }

    /** Whether runs are replayed as CUDA graphs (off by option, or in debug mode). */
    public boolean cudaGraphs() {
        return resources.graphs();
    }

    /** The GPU this model lives on. */
    public int device() {
        return runtime.info().ordinal();
    }

    /** Whether this model uses cuDNN (false: mnv3's own kernels alone, the NVIDIA driver the only native library). */
    public boolean usesCudnn() {
        return resources.cudnn() != null;
    }

    /**
     * One line per timed decision this model's plans use, in the order first needed: each conv
     * where ours and cuDNN were timed against each other (see {@link KernelChoice}: the layer, the
     * shape, both times and the one kept) and each cuDNN algorithm chosen by timing. Decisions are
     * made once per shape in the process and shared by later models. Empty until a run has built a
     * plan, and when the choices were fixed by {@link CudaSettings} or there is no cuDNN.
     */
    public List<String> kernelChoices() {
        List<String> out = new java.util.ArrayList<>();
        synchronized (resources.decisions()) {
            for (Object key : resources.decisions()) {
                String note = runtime.tuning.notes.get(key);
                if (note != null) out.add(note);
            }
        }
        return out;
    }

    @Override
    public Tensor run(Tensor input) {
        PlanKey key = key(input);
        return onLane(key, p -> p.run(input));
    }

    @Override
    public Map<String, Tensor> trace(Tensor input) {
        PlanKey key = key(input);
        return onLane(key, p -> p.trace(input));
    }

    /** Raw images preprocessed on the device: the upload is a quarter of the float input's. */
    @Override
    public Tensor runImages(Tensor images, Preprocessing preprocessing) {
        Preprocessing.checkImages(images);
        PlanKey key = imagesKey(images.dtype(), images.shape(), preprocessing);
        return onLane(key, p -> p.run(images));
    }

    /** Pinned host memory: {@link #run} copies a tensor over it to the device by DMA, without the staging copy. */
    @Override
    public HostTensor allocateHost(DType type, int... shape) {
        if (closed) throw new IllegalStateException("this CUDA model is closed");
        long bytes = Math.multiplyExact(Tensor.numel(shape), (long) type.bytes);
        MemorySegment m = runtime.allocatePinned(bytes);
        return new HostTensor(Tensor.ofSegment(type, shape, m), () -> runtime.freePinned(m));
    }

    @Override
    public DeviceTensor allocate(DType type, int... shape) {
        if (closed) throw new IllegalStateException("this CUDA model is closed");
        return new CudaTensor(runtime, type, shape);
    }

    @Override
    public void run(DeviceTensor input, DeviceTensor logits) {
        CudaTensor in = mine(input, "input"), out = logits(logits, in.shape()[0]);
        PlanKey key = key(in.dtype(), in.shape());
        onLane(key, p -> {
            p.run(in, out);
            return null;
        });
    }

    @Override
    public void runImages(DeviceTensor images, Preprocessing preprocessing, DeviceTensor logits) {
        CudaTensor in = mine(images, "images"), out = logits(logits, in.shape()[0]);
        PlanKey key = imagesKey(in.dtype(), in.shape(), preprocessing);
        onLane(key, p -> {
            p.run(in, out);
            return null;
        });
    }

    /** Mean GPU time of one forward pass of {@code input}'s shape, from CUDA events. */
    public double deviceMillis(Tensor input, int iterations) {
        if (iterations < 1) throw new IllegalArgumentException("iterations must be >= 1");
        PlanKey key = key(input);
        return onLane(key, p -> p.deviceMillis(input, iterations));
    }

    /** The plan key of a network input [N, 3, H, W] of F32, F16 or BF16 (U8 is refused: raw images go to runImages). */
    private PlanKey key(Tensor input) {
        return key(CompiledModel.checkInput(graph, input).dtype(), input.shape());
    }

    private PlanKey key(DType type, int[] s) {
        CompiledModel.checkInputType(graph, s, type);
        return new PlanKey(s[0], s[2], s[3], ForwardPlan.InputSpec.tensor(type));
    }

    private PlanKey imagesKey(DType type, int[] s, Preprocessing p) {
        Preprocessing.checkImages(type, s);
        Arguments.notNull(p, "preprocessing", Preprocessing.WHAT);
        graph.checkInput(new int[] {s[0], Graph.INPUT_CHANNELS, p.crop(), p.crop()});
        return new PlanKey(s[0], p.crop(), p.crop(), ForwardPlan.InputSpec.images(p, s[1], s[2]));
    }

    /** A device tensor of this model's device. */
    private CudaTensor mine(DeviceTensor t, String what) {
        Arguments.notNull(t, what, "a device tensor from this model's allocate");
        if (!(t instanceof CudaTensor c) || c.runtime() != runtime) {
            throw new IllegalArgumentException("the " + what + " " + t + " is not on this model's device " + device()
                    + " (allocate it with this model's allocate)");
        }
        return c;
    }

    /** The logits tensor of a batch: [batch, classes], F32, F16 or BF16, on this model's device. */
    private CudaTensor logits(DeviceTensor t, int batch) {
        CudaTensor c = mine(t, "logits");
        if (!c.dtype().isFloat() || !java.util.Arrays.equals(c.shape(), new int[] {batch, graph.numClasses()})) {
            throw new IllegalArgumentException("logits go to an F32, F16 or BF16 device tensor [" + batch + ","
                    + graph.numClasses() + "], not " + c);
        }
        return c;
    }

    /** Takes a lane, makes the context current on a platform thread, and runs {@code work} on the key's plan. */
    private <T> T onLane(PlanKey key, Function<PlanExecutor, T> work) {
        if (closed) throw new IllegalStateException("this CUDA model is closed");
        Lane lane;
        try {
            lane = lanes.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a free CUDA stream", e);
        }
        try {
            return PlatformThreads.call(() -> {
                runtime.makeCurrent();
                return work.apply(lane.plan(graph, key));
            });
        } finally {
            lanes.release(lane);
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        RuntimeException first = PlatformThreads.call(() -> Cleanup.runAll(lanes::close, runtime::makeCurrent,
                () -> resources.weights().close(), arena::close));
        if (first != null) throw first;
    }
}
