package dev.mnv3.cuda.exec;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.mnv3.core.backend.CudaSettings;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.cuda.ffi.Cleanup;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.ffi.CudaException;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.KernelChoice;
import dev.mnv3.cuda.plan.Lowering;
import dev.mnv3.cuda.plan.StorageType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs one {@link ForwardPlan} on one {@link Lane}: the plan's steps, compiled once into launches
 * ({@link StepLaunches}), enqueued in order, nothing decided here. Built once per (batch, H, W,
 * input kind) and reused, so a run allocates nothing ({@link PlanMemory}). From the second run on,
 * the whole pass (copies included) is replayed as one CUDA graph ({@link PassGraph}).
 */
public final class PlanExecutor implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PlanExecutor.class.getName());

    private final Lane lane;
    private final CudaDriver driver;
    private final ForwardPlan plan;
    private final PlanMemory memory;
    private final Map<ConvBnAct, CudnnConv> cudnn;
    private final List<ForwardPlan.Step> steps;
    private final List<StepLaunches.Launch> launches;
    /** Host calls replay input copy + steps + logits copy; device-tensor calls the steps alone. */
    private final PassGraph hostGraph, stepsGraph;

    private PlanExecutor(Lane lane, ForwardPlan plan, PlanMemory memory, Map<ConvBnAct, CudnnConv> cudnn) {
        this.lane = lane;
        this.driver = lane.shared.runtime().driver;
        this.plan = plan;
        this.memory = memory;
        this.cudnn = cudnn;
        this.steps = plan.steps();
        StepLaunches compiler = new StepLaunches(lane, memory, plan, cudnn);
        this.launches = new ArrayList<>(steps.size());
        for (ForwardPlan.Step s : steps) launches.add(compiler.of(s));
        boolean graphs = lane.shared.graphs();
        this.hostGraph = new PassGraph(lane.shared.runtime(), lane.stream, graphs);
        this.stepsGraph = new PassGraph(lane.shared.runtime(), lane.stream, graphs);
    }

    /**
     * Lowers {@code graph} for {@code key} twice (every conv ours; every conv cuDNN can run on
     * cuDNN), allocates room for both, sets up cuDNN's convs, lets {@link KernelTuner} decide, and
     * lowers once more with its decisions: that plan is what runs.
     */
    static PlanExecutor build(Lane lane, Graph graph, PlanKey key) {
        ModelResources model = lane.shared;
        StorageType storage = StorageType.of(model.precision());
        int sms = model.runtime().kernels.multiprocessors();
        ForwardPlan ours = lower(graph, key, storage, sms, KernelChoice.Selection.OURS);
        ForwardPlan theirs = model.cudnn() == null ? ours : lower(graph, key, storage, sms, KernelChoice.Selection.CUDNN);
        Map<ConvBnAct, CudnnConv> convs = new IdentityHashMap<>();
        PlanMemory memory = null;
        try {
            long workspace = 0;
            if (model.cudnn() != null) {
                Map<ConvBnAct, ForwardPlan.Conv> oursSteps = KernelTuner.convSteps(ours);
                for (ForwardPlan.Conv c : KernelTuner.convSteps(theirs).values()) {
                    boolean oursCan = oursSteps.get(c.conv()).ours();
                    if (c.ours() || oursCan && model.settings().kernelsFor(c.conv()) == CudaSettings.ConvKernels.OURS) continue;
                    CudnnConv cc = cudnnConv(lane, c, oursCan);
                    if (cc != null) {
                        convs.put(c.conv(), cc);
                        workspace = Math.max(workspace, cc.workspaceBytes);
                    }
                }
            }
            memory = new PlanMemory(model.runtime().driver, lane.stream, ours, PlanMemory.sizes(ours, theirs), workspace);
            KernelTuner tuner = new KernelTuner(lane);
            StepLaunches candidates = new StepLaunches(lane, memory, theirs, convs);
            tuner.chooseAlgorithms(convs, KernelTuner.convSteps(theirs), candidates);
            ForwardPlan plan = model.cudnn() == null ? ours
                    : lower(graph, key, storage, sms, tuner.choose(ours, theirs, convs, candidates));
            for (ForwardPlan.Conv c : KernelTuner.convSteps(plan).values()) {
                if (c.ours()) {
                    CudnnConv unused = convs.remove(c.conv());
                    if (unused != null) unused.close();
                } else if (!convs.containsKey(c.conv())) {
                    throw new IllegalStateException(c.conv().name() + ": a " + c.conv().kernel() + "x" + c.conv().kernel()
                            + " dense conv other than the stem runs only on cuDNN at FP16/BF16, and this model has none");
                }
            }
            return new PlanExecutor(lane, plan, memory, convs);
        } catch (RuntimeException e) {
            Cleanup.runAll(() -> convs.values().forEach(CudnnConv::close), memory == null ? () -> { } : memory::close);
            throw new IllegalStateException("cannot prepare the GPU for batch " + key.batch() + " at " + key.height() + "x"
                    + key.width() + ": " + e.getMessage(), e);
        }
    }

    private static ForwardPlan lower(Graph graph, PlanKey key, StorageType storage, int sms, KernelChoice.Selection selection) {
        return Lowering.lower(graph, key.batch(), key.height(), key.width(), storage, sms, key.spec(), selection);
    }

    /**
     * cuDNN's side of {@code c}, or null where ours runs it anyway because cuDNN cannot set it up
     * (an error instead when cuDNN was asked for, or ours cannot run it).
     */
    private static CudnnConv cudnnConv(Lane lane, ForwardPlan.Conv c, boolean oursCan) {
        ModelResources model = lane.shared;
        try {
            return new CudnnConv(model.cudnn().api(), lane.cudnn, c.conv(), c.in(), c.out(), model.precision(), model.algorithms());
        } catch (RuntimeException e) {
            if (model.settings().kernelsFor(c.conv()) == CudaSettings.ConvKernels.CUDNN || !oursCan) throw e;
            LOG.log(System.Logger.Level.DEBUG, c.conv().name() + ": cuDNN cannot run this conv, ours does: " + e.getMessage());
            return null;
        }
    }

    /** The plan this executor runs, step for step. */
    public ForwardPlan plan() {
        return plan;
    }

    /**
     * Logits [N, classes], for an input of this plan's {@link ForwardPlan.InputSpec}. An input in
     * pinned memory of this device's runtime is copied by DMA straight from it (and the steps
     * replayed as a graph of their own), any other through the staging buffer.
     */
    public Tensor run(Tensor input) {
        if (input.segment() != null && lane.shared.runtime().isPinned(input.segment())) {
            driver.copyHtoDAsync(memory.address(plan.given()), input.segment(), memory.givenBytes, lane.stream);
            stepsGraph.run(args -> enqueue(args, null));
            driver.copyDtoHAsync(memory.pinnedLogits, memory.address(plan.logits()), memory.logitsBytes, lane.stream);
        } else {
            stage(input);
            hostGraph.run(this::enqueueForward);
        }
        driver.streamSynchronize(lane.stream);
        float[] logits = new float[(int) plan.logits().elements()];
        MemorySegment.copy(memory.pinnedLogits, JAVA_FLOAT, 0, logits, 0, logits.length);
        return new Tensor(new int[] {plan.batch(), plan.logits().c()}, logits);
    }

    /**
     * From a device tensor to a device tensor: the input copied on the device into the plan's
     * input buffer, the steps (replayed as a graph of their own), the logits copied, or converted
     * to {@code logits}' type, into {@code logits}. Returns when they are there.
     */
    public void run(CudaTensor input, CudaTensor logits) {
        driver.copyDtoDAsync(memory.address(plan.given()), input.pointer(), memory.givenBytes, lane.stream);
        stepsGraph.run(args -> enqueue(args, null));
        long n = plan.logits().elements();
        if (logits.dtype() == DType.F32) {
            driver.copyDtoDAsync(logits.pointer(), memory.address(plan.logits()), n * Float.BYTES, lane.stream);
        } else {
            try (Arena args = Arena.ofConfined()) {
                lane.shared.runtime().kernels.convertFromFloat(args, lane.stream, logits.dtype(), memory.address(plan.logits()),
                        logits.pointer(), n);
            }
        }
        driver.streamSynchronize(lane.stream);
    }

    /** Every node's output, copied back as soon as it is computed. */
    public Map<String, Tensor> trace(Tensor input) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        stage(input);
        try (Arena args = Arena.ofConfined()) {
            driver.copyHtoDAsync(memory.address(plan.given()), memory.pinnedInput, memory.givenBytes, lane.stream);
            enqueue(args, o -> out.put(o.node().name(), download(o)));
        }
        return out;
    }

    /** Mean GPU time of one forward pass over {@code iterations} runs, measured with CUDA events. */
    public double deviceMillis(Tensor input, int iterations) {
        run(input); // warm up (and capture the graph)
        return EventTimer.millis(driver, lane.stream, 0, iterations, args -> {
            if (!hostGraph.replay()) enqueueForward(args);
        });
    }

    /** Input copy, every step, logits copy: what one run (or one graph replay) does. */
    private void enqueueForward(Arena args) {
        driver.copyHtoDAsync(memory.address(plan.given()), memory.pinnedInput, memory.givenBytes, lane.stream);
        enqueue(args, null);
        driver.copyDtoHAsync(memory.pinnedLogits, memory.address(plan.logits()), memory.logitsBytes, lane.stream);
    }

    private void enqueue(Arena args, Consumer<ForwardPlan.Output> onOutput) {
        boolean debug = lane.shared.settings().debug();
        for (int i = 0; i < steps.size(); i++) {
            launches.get(i).enqueue(args);
            if (onOutput != null && steps.get(i) instanceof ForwardPlan.Output o) onOutput.accept(o);
            if (debug) {
                try {
                    driver.streamSynchronize(lane.stream);
                } catch (CudaException e) {
                    throw new IllegalStateException("GPU step failed: " + steps.get(i), e);
                }
            }
        }
    }

    /** Copies the caller's input into the pinned staging buffer, in its own element type. */
    private void stage(Tensor input) {
        MemorySegment pinned = memory.pinnedInput;
        if (input.segment() != null) {
            MemorySegment.copy(input.segment(), 0, pinned, 0, memory.givenBytes);
            return;
        }
        switch (input.dtype()) {
            case F32 -> MemorySegment.copy(input.data(), 0, pinned, JAVA_FLOAT, 0, input.size());
            case F16, BF16 -> MemorySegment.copy(input.halves(), 0, pinned, JAVA_SHORT, 0, input.size());
            case U8 -> MemorySegment.copy(input.bytes(), 0, pinned, JAVA_BYTE, 0, input.size());
            default -> throw new IllegalArgumentException("no input of type " + input.dtype());
        }
    }

    private Tensor download(ForwardPlan.Output o) {
        long n = o.value().elements();
        int bytes = plan.elementBytes(o.value().buffer());
        float[] data = new float[Math.toIntExact(n)];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(n * bytes, 64);
            driver.download(host, memory.address(o.value()), n * bytes, lane.stream);
            if (bytes == Float.BYTES) {
                MemorySegment.copy(host, JAVA_FLOAT, 0, data, 0, data.length);
            } else {
                for (int i = 0; i < data.length; i++) data[i] = plan.storage().decode(host.getAtIndex(JAVA_SHORT, i));
            }
        }
        return o.traceTensor(data, plan.nhwc());
    }

    /** Frees everything this plan holds, continuing past failures and reporting the first. */
    @Override
    public void close() {
        RuntimeException first = Cleanup.runAll(hostGraph::close, stepsGraph::close,
                () -> cudnn.values().forEach(CudnnConv::close), memory::close);
        cudnn.clear();
        if (first != null) throw first;
    }
}
