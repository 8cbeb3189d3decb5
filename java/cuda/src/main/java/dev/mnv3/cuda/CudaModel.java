package dev.mnv3.cuda;

import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Weights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A graph compiled for the GPU: folded weights uploaded once, one stream and one cuDNN handle,
 * and a {@link DevicePlan} per input shape (the last few shapes are kept). Calls are serialized;
 * each sets the CUDA context current on the calling thread first. Close it to free the device
 * memory; closing twice is harmless, using it after close is an {@link IllegalStateException}.
 */
public final class CudaModel implements CompiledModel {
    /** Sync and check after every step, naming the step that failed; disables CUDA graphs. */
    public static final String DEBUG_PROPERTY = "mnv3.cuda.debug";
    /** {@code -Dmnv3.cuda.graphs=false} runs every pass eagerly. */
    public static final String GRAPHS_PROPERTY = "mnv3.cuda.graphs";
    static final int MAX_PLANS = 4;

    /** What every plan of this model shares. */
    record Resources(CudaRuntime runtime, Precision precision, MemorySegment stream, MemorySegment cudnn,
                     DeviceWeights weights, MemorySegment[] alphaBeta, Map<ConvAlgorithm.Key, ConvAlgorithm.Choice> algorithms,
                     boolean debug, boolean graphs) {
    }

    private final Graph graph;
    private final CudaRuntime runtime;
    private final Arena arena = Arena.ofShared();
    private final Map<String, DevicePlan> plans = new LinkedHashMap<>(8, 0.75f, true);
    private Resources resources;
    private boolean closed;

    CudaModel(CudaRuntime runtime, Graph graph, Weights weights, Precision precision, boolean cudaGraphs) {
        this.runtime = runtime;
        this.graph = graph;
        CudaDriver driver = runtime.driver;
        MemorySegment stream = null, handle = null;
        DeviceWeights deviceWeights = null;
        try {
            runtime.makeCurrent();
            stream = driver.streamCreate();
            handle = runtime.cudnn.create();
            runtime.cudnn.setStream(handle, stream);
            deviceWeights = new DeviceWeights(driver, WeightLayout.of(graph, weights, Storage.of(precision)));
            boolean debug = Boolean.getBoolean(DEBUG_PROPERTY);
            boolean graphs = cudaGraphs && !debug && Boolean.parseBoolean(System.getProperty(GRAPHS_PROPERTY, "true"));
            resources = new Resources(runtime, precision, stream, handle, deviceWeights, Cudnn.alphaBeta(arena),
                    new HashMap<>(), debug, graphs);
        } catch (RuntimeException e) {
            if (deviceWeights != null) deviceWeights.close();
            if (handle != null) runtime.cudnn.destroy(handle);
            if (stream != null) driver.streamDestroy(stream);
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

    public Precision precision() {
        return resources.precision();
    }

    /** Whether runs are replayed as CUDA graphs (off by option, by -Dmnv3.cuda.graphs=false, or in debug mode). */
    public boolean cudaGraphs() {
        return resources.graphs();
    }

    @Override
    public synchronized Tensor run(Tensor input) {
        return plan(input).run(input);
    }

    @Override
    public synchronized Map<String, Tensor> trace(Tensor input) {
        return plan(input).trace(input);
    }

    /** Mean GPU time of one forward pass of {@code input}'s shape, from CUDA events. */
    public synchronized double deviceMillis(Tensor input, int iterations) {
        if (iterations < 1) throw new IllegalArgumentException("iterations must be >= 1");
        return plan(input).deviceMillis(input, iterations);
    }

    /** Checks the input, makes the context current, and finds or builds the plan for its shape. */
    private DevicePlan plan(Tensor input) {
        if (closed) throw new IllegalStateException("this CUDA model is closed");
        int[] s = input.shape();
        graph.checkInput(s);
        runtime.makeCurrent();
        String key = s[0] + "x" + s[2] + "x" + s[3];
        DevicePlan p = plans.get(key);
        if (p == null) {
            if (plans.size() >= MAX_PLANS) {
                String eldest = plans.keySet().iterator().next();
                plans.remove(eldest).close();
            }
            p = new DevicePlan(resources, ForwardPlan.of(graph, s[0], s[2], s[3], Storage.of(resources.precision()),
                    runtime.kernels.multiprocessors()));
            plans.put(key, p);
        }
        return p;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        try {
            runtime.makeCurrent();
            runtime.driver.streamSynchronize(resources.stream());
        } catch (RuntimeException e) {
            first = e;
        }
        for (Runnable r : new Runnable[] {
                () -> plans.values().forEach(DevicePlan::close),
                () -> resources.weights().close(),
                () -> runtime.cudnn.destroy(resources.cudnn()),
                () -> runtime.driver.streamDestroy(resources.stream()),
                arena::close}) {
            try {
                r.run();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        plans.clear();
        if (first != null) throw first;
    }
}
