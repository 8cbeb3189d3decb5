package dev.mnv3.cuda;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.mnv3.core.Activation;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A compiled model at one input shape on one {@link CudaModel.Lane} (its stream and cuDNN
 * handle): device buffers for every {@link ForwardPlan.Buffer} in one allocation, a cuDNN
 * descriptor set per convolution cuDNN runs, one workspace for the largest need, and pinned host
 * buffers for the input and the logits. Built once per (batch, H, W) and reused, so
 * a run allocates nothing. From the second run on, the whole pass (copies included) is replayed
 * as one CUDA graph; if capture fails the plan keeps running eagerly.
 */
final class DevicePlan implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DevicePlan.class.getName());
    /** Buffers start on 256-byte boundaries. */
    private static final long ALIGN = 256;

    private final CudaModel.Resources model;
    private final CudaModel.Lane lane;
    private final CudaDriver driver;
    private final Kernels kernels;
    private final ForwardPlan plan;
    private final Map<ForwardPlan.Buffer, Long> buffers = new EnumMap<>(ForwardPlan.Buffer.class);
    /** The convs cuDNN runs (none without cuDNN): those it won, or was told to run, or alone can run. */
    private final Map<ForwardPlan.Conv, CudnnConv> convs = new IdentityHashMap<>();
    /** The conv steps our kernels run (see {@link KernelChoice}). */
    private final Set<ForwardPlan.Conv> ourKernel = Collections.newSetFromMap(new IdentityHashMap<>());
    /** FP16/BF16 plans: the float-to-NHWC conversion (null otherwise). */
    private final ForwardPlan.ToNhwc toNhwc;
    /** The first conv, when it is a dense k x k conv reading the image (ours: the stem kernels). */
    private final ForwardPlan.Conv stemConv;
    /** SE projections our 1x1 kernel runs, with the excitation whose scale it applies as it reads its input. */
    private final Map<ForwardPlan.Conv, ForwardPlan.Step> scaledOnRead = new IdentityHashMap<>();
    private final Storage storage;
    private long memory, workspace, workspaceBytes;
    private MemorySegment pinnedInput, pinnedLogits;
    /** The preprocessing taps of an images plan (their own allocation, uploaded once), else 0. */
    private long taps;
    private PreprocessTaps preprocessTaps;
    /** Host calls replay input copy + steps + logits copy; device-tensor calls the steps alone. */
    private final GraphSlot hostGraph = new GraphSlot(), stepsGraph = new GraphSlot();

    /** A pass captured as a CUDA graph from its second run on (the first runs eagerly, and builds nothing lazily after). */
    private static final class GraphSlot {
        MemorySegment exec;
        int eagerRuns;
        boolean failed;
    }

    DevicePlan(CudaModel.Lane lane, ForwardPlan plan) {
        this.lane = lane;
        this.model = lane.shared;
        this.driver = model.runtime().driver;
        this.kernels = model.runtime().kernels;
        this.plan = plan;
        this.storage = plan.storage();
        this.toNhwc = plan.steps().stream().filter(s -> s instanceof ForwardPlan.ToNhwc).map(s -> (ForwardPlan.ToNhwc) s)
                .findFirst().orElse(null);
        this.stemConv = stem(plan);
        try {
            Map<ForwardPlan.Buffer, Long> offsets = new LinkedHashMap<>();
            long total = 0;
            for (Map.Entry<ForwardPlan.Buffer, Long> e : plan.sizes().entrySet()) {
                offsets.put(e.getKey(), total);
                total += LaunchGeometry.ceilDiv(e.getValue() * plan.elementBytes(e.getKey()), ALIGN) * ALIGN;
            }
            KernelChoice.Mode dwMode = KernelChoice.mode(KernelChoice.DEPTHWISE_PROPERTY),
                    pwMode = KernelChoice.mode(KernelChoice.POINTWISE_PROPERTY), stemMode = KernelChoice.mode(KernelChoice.STEM_PROPERTY);
            for (ForwardPlan.Step s : plan.steps()) {
                if (!(s instanceof ForwardPlan.Conv c)) continue;
                CudnnConv cc = model.cudnn() == null ? null : cudnnConv(c, mode(c, dwMode, pwMode, stemMode));
                if (cc != null) {
                    convs.put(c, cc);
                    workspaceBytes = Math.max(workspaceBytes, cc.workspaceBytes);
                } else if (!oursCanRun(c)) {
                    throw new IllegalStateException(c.conv().name() + ": a " + c.conv().kernel() + "x" + c.conv().kernel()
                            + " dense conv other than the stem runs only on cuDNN at FP16/BF16, and this model has none");
                }
            }
            long wsOffset = total;
            total += LaunchGeometry.ceilDiv(workspaceBytes, ALIGN) * ALIGN;
            memory = driver.memAlloc(Math.max(total, ALIGN));
            for (Map.Entry<ForwardPlan.Buffer, Long> e : offsets.entrySet()) buffers.put(e.getKey(), memory + e.getValue());
            workspace = workspaceBytes > 0 ? memory + wsOffset : 0;
            pinnedInput = driver.memAllocHost(givenBytes());
            if (plan.inputSpec().images()) {
                preprocessTaps = PreprocessTaps.of(plan);
                taps = driver.memAlloc(preprocessTaps.bytes());
                try (Arena staging = Arena.ofConfined()) {
                    driver.upload(taps, preprocessTaps.image(staging), preprocessTaps.bytes());
                }
            }
            pinnedLogits = driver.memAllocHost(plan.logits().elements() * Float.BYTES);
            chooseAlgorithms();
            chooseKernels(dwMode, pwMode, stemMode);
            scaledOnRead.putAll(scaledOnRead(plan, ourKernel::contains));
        } catch (RuntimeException e) {
            close();
            throw new IllegalStateException("cannot prepare the GPU for batch " + plan.batch() + " at " + plan.height() + "x"
                    + plan.width() + ": " + e.getMessage(), e);
        }
    }

    /** The stem: the first conv, when it is dense and not 1x1 (null otherwise). */
    static ForwardPlan.Conv stem(ForwardPlan plan) {
        for (ForwardPlan.Step s : plan.steps()) {
            if (s instanceof ForwardPlan.Conv c) return c.conv().isDepthwise() || c.conv().isPointwise() ? null : c;
        }
        return null;
    }

    /**
     * Whether one of our kernels can run {@code c}: depthwise and 1x1 convs always; a dense k x k
     * conv in float plans (mnv3_conv_f32), and in FP16/BF16 plans only as the stem (mnv3_stem_*).
     */
    private boolean oursCanRun(ForwardPlan.Conv c) {
        ConvBnAct k = c.conv();
        return k.isDepthwise() || k.isPointwise() || !plan.nhwc() || c == stemConv;
    }

    /** The -Dmnv3.cuda.* choice that governs {@code c}. */
    private KernelChoice.Mode mode(ForwardPlan.Conv c, KernelChoice.Mode depthwise, KernelChoice.Mode pointwise,
                                   KernelChoice.Mode stem) {
        return c.conv().isDepthwise() ? depthwise : c.conv().isPointwise() ? pointwise : stem;
    }

    /**
     * cuDNN's side of {@code c}, or null where ours runs it anyway: told to ({@code mode} OURS), an
     * FP16/BF16 SE depthwise conv (ours also writes the squeeze sums), or cuDNN cannot set it up.
     */
    private CudnnConv cudnnConv(ForwardPlan.Conv c, KernelChoice.Mode mode) {
        if (oursCanRun(c) && (mode == KernelChoice.Mode.OURS || c.partial() != null)) return null;
        try {
            return new CudnnConv(model.cudnn().api(), lane.cudnn, c.conv(), c.in(), c.out(), model.precision(),
                    model.algorithms());
        } catch (RuntimeException e) {
            if (mode == KernelChoice.Mode.CUDNN || !oursCanRun(c)) throw e;
            LOG.log(System.Logger.Level.DEBUG, c.conv().name() + ": cuDNN cannot run this conv, ours does: " + e.getMessage());
            return null;
        }
    }

    /**
     * Times every cuDNN algorithm candidate of the convs whose algorithm no lane has chosen yet, on
     * this plan's buffers, and keeps the fastest for the shape (shared by every lane and plan).
     */
    private void chooseAlgorithms() {
        for (Map.Entry<ForwardPlan.Conv, CudnnConv> e : convs.entrySet()) {
            CudnnConv cc = e.getValue();
            model.decisions().add(Tuning.algorithmNote(cc.key));
            if (cc.candidates.size() == 1) continue; // chosen before, or nothing to choose
            ConvAlgorithm.Choice known = model.algorithms().get(cc.key);
            if (known == null) {
                double[] ms = new double[cc.candidates.size()];
                for (int i = 0; i < ms.length; i++) {
                    cc.use(cc.candidates.get(i));
                    ms[i] = millisOrNaN(e.getKey().conv().name(), "cuDNN algorithm " + cc.candidates.get(i),
                            args -> cudnnForward(e.getKey()));
                }
                ConvAlgorithm.Choice best = ConvAlgorithm.fastest(cc.candidates, ms);
                known = model.algorithms().putIfAbsent(cc.key, best);
                if (known == null) {
                    known = best;
                    note(Tuning.algorithmNote(cc.key), String.format(java.util.Locale.ROOT,
                            "%-22s cuDNN algorithm %d (math %d) of %d timed, %.4f ms", e.getKey().conv().name(), best.algo(),
                            best.mathType(), ms.length, ms[cc.candidates.indexOf(best)]));
                }
            }
            cc.use(known);
        }
    }

    /** Records how a decision was made, for {@link CudaModel#kernelChoices()} (once per process and key). */
    private void note(Object key, String note) {
        model.runtime().tuning.notes.putIfAbsent(key, note);
        LOG.log(System.Logger.Level.DEBUG, note);
    }

    /**
     * Decides, for every conv both can run, whether ours or cuDNN does (see {@link KernelChoice}).
     * Without cuDNN every conv is ours. Timed on this lane's stream once per shape in the process;
     * the decision is shared by every later lane, plan and model ({@link Tuning}).
     */
    private void chooseKernels(KernelChoice.Mode depthwise, KernelChoice.Mode pointwise, KernelChoice.Mode stem) {
        for (ForwardPlan.Step s : plan.steps()) {
            if (!(s instanceof ForwardPlan.Conv c)) continue;
            if (!convs.containsKey(c)) {
                ourKernel.add(c); // no cuDNN, told to, an SE depthwise of a 16-bit plan, or cuDNN could not set it up
                continue;
            }
            if (!oursCanRun(c)) continue;
            boolean dw = c.conv().isDepthwise(), pw = c.conv().isPointwise();
            // ours is preferred where it is the more exact (depthwise: no second rounding; stem: float input)
            KernelChoice.Impl preferred = dw || !pw ? KernelChoice.Impl.OURS : KernelChoice.Impl.CUDNN;
            ConvAlgorithm.Key key = ConvAlgorithm.Key.of(c.conv(), c.in(), model.precision());
            KernelChoice.Impl impl = switch (mode(c, depthwise, pointwise, stem)) {
                case OURS -> KernelChoice.Impl.OURS;
                case CUDNN -> KernelChoice.Impl.CUDNN;
                case AUTO -> {
                    model.decisions().add(key);
                    yield model.choices().computeIfAbsent(key, k -> measure(c, k, preferred));
                }
            };
            if (impl == KernelChoice.Impl.OURS) {
                ourKernel.add(c);
                convs.remove(c).close();
            }
        }
    }

    /**
     * The SE projections that multiply their input by the SE scale as they read it, each with its
     * excitation, which then skips its own pass over the depthwise output: those our 1x1 kernel
     * runs ({@code ours}), as cuDNN cannot scale its input.
     */
    static Map<ForwardPlan.Conv, ForwardPlan.Step> scaledOnRead(ForwardPlan plan, Predicate<ForwardPlan.Conv> ours) {
        Map<ForwardPlan.Conv, ForwardPlan.Step> fused = new IdentityHashMap<>();
        ForwardPlan.Step pending = null;
        for (ForwardPlan.Step s : plan.steps()) {
            if (s instanceof ForwardPlan.Excite || s instanceof ForwardPlan.ExciteFused) {
                pending = s;
            } else if (s instanceof ForwardPlan.Conv c && pending != null) {
                if (c.in() == excited(pending) && c.conv().isPointwise() && ours.test(c)) fused.put(c, pending);
                pending = null;
            }
        }
        return fused;
    }

    /** The tensor an excitation scales. */
    private static ForwardPlan.Ref excited(ForwardPlan.Step excite) {
        return excite instanceof ForwardPlan.Excite e ? e.x() : ((ForwardPlan.ExciteFused) excite).x();
    }

    /** The SE scale [N, C] an excitation computes. */
    private static ForwardPlan.Ref scaleOf(ForwardPlan.Step excite) {
        return excite instanceof ForwardPlan.Excite e ? e.scale() : ((ForwardPlan.ExciteFused) excite).scale();
    }

    private KernelChoice.Impl measure(ForwardPlan.Conv c, ConvAlgorithm.Key key, KernelChoice.Impl preferred) {
        String layer = c.conv().name();
        double ours = millisOrNaN(layer, "ours", args -> convOurs(args, c)), theirs = millisOrNaN(layer, "cuDNN", args -> {
            if (c == stemConv && toNhwc != null) convertInput(args, toNhwc); // cuDNN's NHWC stem needs the converted input
            convCudnn(args, c);
        });
        KernelChoice.Impl impl = KernelChoice.faster(preferred, ours, theirs);
        ForwardPlan.Ref in = c.in();
        ConvBnAct k = c.conv();
        note(key, String.format(java.util.Locale.ROOT, "%-22s %-9s %dx%dx%dx%d -> %d: ours %.4f ms, cuDNN %.4f ms: %s",
                k.name(), k.isDepthwise() ? "depthwise" : k.isPointwise() ? "1x1" : k.kernel() + "x" + k.kernel(), in.n(), in.c(),
                in.h(), in.w(), c.out().c(), ours, theirs, impl.name().toLowerCase(java.util.Locale.ROOT)));
        return impl;
    }

    private double millisOrNaN(String layer, String who, Consumer<Arena> work) {
        try {
            return millis(2, 5, work);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, layer + ": " + who + " failed while timed: " + e.getMessage());
            return Double.NaN;
        }
    }

    /**
     * Mean GPU time of {@code work} enqueued on this lane's stream, from CUDA events: {@code warmups}
     * untimed runs, then the mean of {@code iterations}. Each run gets its own argument arena.
     */
    private double millis(int warmups, int iterations, Consumer<Arena> work) {
        MemorySegment start = driver.eventCreate(), end = driver.eventCreate();
        try {
            for (int i = 0; i < warmups + iterations; i++) {
                if (i == warmups) driver.eventRecord(start, lane.stream);
                try (Arena args = Arena.ofConfined()) {
                    work.accept(args);
                }
            }
            driver.eventRecord(end, lane.stream);
            driver.eventSynchronize(end);
            return driver.eventElapsedMillis(start, end) / iterations;
        } finally {
            driver.eventDestroy(start);
            driver.eventDestroy(end);
        }
    }

    private long givenBytes() {
        return plan.given().elements() * plan.elementBytes(plan.given().buffer());
    }

    /** Copies the caller's input into the pinned staging buffer, in its own element type. */
    private void stage(Tensor input) {
        if (input.segment() != null) {
            MemorySegment.copy(input.segment(), 0, pinnedInput, 0, givenBytes());
            return;
        }
        switch (input.dtype()) {
            case F32 -> MemorySegment.copy(input.data(), 0, pinnedInput, JAVA_FLOAT, 0, input.size());
            case F16, BF16 -> MemorySegment.copy(input.halves(), 0, pinnedInput, JAVA_SHORT, 0, input.size());
            case U8 -> MemorySegment.copy(input.bytes(), 0, pinnedInput, JAVA_BYTE, 0, input.size());
            default -> throw new IllegalArgumentException("no input of type " + input.dtype());
        }
    }

    /**
     * Logits [N, classes], for an input of this plan's {@link ForwardPlan.InputSpec}. An input in
     * pinned memory of this device's runtime is copied by DMA straight from it (and the steps
     * replayed as a graph of their own), any other through the staging buffer.
     */
    Tensor run(Tensor input) {
        if (input.segment() != null && model.runtime().isPinned(input.segment())) {
            driver.copyHtoDAsync(ptr(plan.given()), input.segment(), givenBytes(), lane.stream);
            launch(stepsGraph, args -> enqueue(args, null));
            driver.copyDtoHAsync(pinnedLogits, ptr(plan.logits()), plan.logits().elements() * Float.BYTES, lane.stream);
        } else {
            stage(input);
            launch(hostGraph, this::enqueueForward);
        }
        driver.streamSynchronize(lane.stream);
        float[] logits = new float[(int) plan.logits().elements()];
        MemorySegment.copy(pinnedLogits, JAVA_FLOAT, 0, logits, 0, logits.length);
        return new Tensor(new int[] {plan.batch(), plan.logits().c()}, logits);
    }

    /**
     * From a device tensor to a device tensor: the input copied on the device into the plan's
     * input buffer, the steps (replayed as a graph of their own), the logits copied, or converted
     * to {@code logits}' type, into {@code logits}. Returns when they are there.
     */
    void run(CudaTensor input, CudaTensor logits) {
        driver.copyDtoDAsync(ptr(plan.given()), input.pointer(), givenBytes(), lane.stream);
        launch(stepsGraph, args -> enqueue(args, null));
        long n = plan.logits().elements();
        if (logits.dtype() == DType.F32) {
            driver.copyDtoDAsync(logits.pointer(), ptr(plan.logits()), n * Float.BYTES, lane.stream);
        } else {
            try (Arena args = Arena.ofConfined()) {
                kernels.convertFromFloat(args, lane.stream, logits.dtype(), ptr(plan.logits()), logits.pointer(), n);
            }
        }
        driver.streamSynchronize(lane.stream);
    }

    /** Runs {@code pass} on this lane's stream: replayed from its graph once captured, else eagerly. */
    private void launch(GraphSlot slot, Consumer<Arena> pass) {
        if (slot.exec == null && !slot.failed && slot.eagerRuns > 0 && model.graphs()) capture(slot, pass);
        if (slot.exec != null) {
            driver.graphLaunch(slot.exec, lane.stream);
        } else {
            try (Arena args = Arena.ofConfined()) {
                pass.accept(args);
            }
            slot.eagerRuns++;
        }
    }

    /** Every node's output, copied back as soon as it is computed. */
    Map<String, Tensor> trace(Tensor input) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        stage(input);
        try (Arena args = Arena.ofConfined()) {
            driver.copyHtoDAsync(ptr(plan.given()), pinnedInput, givenBytes(), lane.stream);
            enqueue(args, o -> out.put(o.node().name(), download(o)));
        }
        return out;
    }

    /** Mean GPU time of one forward pass over {@code iterations} runs, measured with CUDA events. */
    double deviceMillis(Tensor input, int iterations) {
        run(input); // warm up (and capture the graph)
        return millis(0, iterations, args -> {
            if (hostGraph.exec != null) {
                driver.graphLaunch(hostGraph.exec, lane.stream);
            } else {
                enqueueForward(args);
            }
        });
    }

    /** Input copy, every step, logits copy: what one run (or one graph replay) does. */
    private void enqueueForward(Arena args) {
        driver.copyHtoDAsync(ptr(plan.given()), pinnedInput, givenBytes(), lane.stream);
        enqueue(args, null);
        driver.copyDtoHAsync(pinnedLogits, buffers.get(plan.logits().buffer()), plan.logits().elements() * Float.BYTES,
                lane.stream);
    }

    private void capture(GraphSlot slot, Consumer<Arena> pass) {
        MemorySegment stream = lane.stream;
        try (Arena args = Arena.ofConfined()) {
            driver.beginCapture(stream);
            try {
                pass.accept(args);
            } catch (RuntimeException e) {
                abandonCapture(stream);
                throw e;
            }
            MemorySegment g = driver.endCapture(stream);
            try {
                slot.exec = driver.instantiate(g);
            } finally {
                driver.graphDestroy(g);
            }
        } catch (RuntimeException e) {
            slot.failed = true;
            LOG.log(System.Logger.Level.WARNING, "CUDA graph capture failed, running without graphs: " + e.getMessage());
        }
    }

    private void abandonCapture(MemorySegment stream) {
        try {
            MemorySegment g = driver.endCapture(stream);
            if (!g.equals(MemorySegment.NULL)) driver.graphDestroy(g);
        } catch (RuntimeException ignored) {
            // the capture was already invalidated; ending it is all that was needed
        }
    }

    private void enqueue(Arena args, Consumer<ForwardPlan.Output> onOutput) {
        MemorySegment stream = lane.stream;
        DeviceWeights w = model.weights();
        for (ForwardPlan.Step step : plan.steps()) {
            switch (step) {
                case ForwardPlan.ToFloat t -> kernels.convertToFloat(args, stream, plan.inputSpec().dtype(), ptr(t.raw()), ptr(t.out()),
                        t.out().elements());
                case ForwardPlan.Preprocess p -> preprocess(args, p);
                case ForwardPlan.ToNhwc t when stemConv != null && ourKernel.contains(stemConv) -> { } // the stem reads the input
                case ForwardPlan.ToNhwc t -> convertInput(args, t);
                case ForwardPlan.Conv c when ourKernel.contains(c) -> convOurs(args, c);
                case ForwardPlan.Conv c -> convCudnn(args, c);
                case ForwardPlan.Excite e -> {
                    String se = e.se().name();
                    kernels.globalAvgPool(args, stream, ptr(e.x()), ptr(e.pooled()), e.x().n() * e.x().c(), e.x().plane());
                    kernels.linear(args, stream, ptr(e.pooled()), w.pointer(se + ".fc1.weight"), w.pointer(se + ".fc1.bias"),
                            ptr(e.hidden()), e.x().n(), e.pooled().c(), e.hidden().c(), Activation.RELU);
                    kernels.linear(args, stream, ptr(e.hidden()), w.pointer(se + ".fc2.weight"), w.pointer(se + ".fc2.bias"),
                            ptr(e.scale()), e.x().n(), e.hidden().c(), e.scale().c(), Activation.HARDSIGMOID);
                    if (!scaledOnRead.containsValue(e)) {
                        kernels.channelScale(args, stream, ptr(e.x()), ptr(e.scale()), e.x().plane(), e.x().elements());
                    }
                }
                case ForwardPlan.ExciteFused e -> {
                    String se = e.se().name();
                    kernels.seFc(args, stream, ptr(e.partial()), e.partial().h(), e.x().plane(), w.pointer(se + ".fc1.weight"),
                            w.pointer(se + ".fc1.bias"), w.pointer(se + ".fc2.weight"), w.pointer(se + ".fc2.bias"),
                            ptr(e.scale()), e.x().n(), e.se().channels(), e.se().squeezeChannels());
                    if (!scaledOnRead.containsValue(e)) {
                        kernels.channelScaleNhwc(args, stream, storage, ptr(e.x()), ptr(e.scale()), e.x().c(), e.x().plane(),
                                e.x().elements());
                    }
                }
                case ForwardPlan.Pool p when plan.nhwc() -> kernels.globalAvgPoolNhwc(args, stream, storage, ptr(p.in()),
                        ptr(p.out()), p.in().n(), p.in().c(), p.in().plane(), p.out().buffer() == ForwardPlan.Buffer.LOGITS);
                case ForwardPlan.Pool p -> kernels.globalAvgPool(args, stream, ptr(p.in()), ptr(p.out()), p.in().n() * p.in().c(),
                        p.in().plane());
                case ForwardPlan.Dense d when d.raw() != null -> denseNhwc(args, d);
                case ForwardPlan.Dense d -> kernels.linear(args, stream, ptr(d.in()), w.pointer(d.linear().name() + ".weight"),
                        w.pointer(d.linear().name() + ".bias"), ptr(d.out()), d.in().n(), (int) (d.in().elements() / d.in().n()),
                        d.out().c(), d.linear().activation());
                case ForwardPlan.Output o -> {
                    if (onOutput != null) onOutput.accept(o);
                }
            }
            if (model.debug()) {
                try {
                    driver.streamSynchronize(stream);
                } catch (CudaException e) {
                    throw new IllegalStateException("GPU step failed: " + step, e);
                }
            }
        }
    }

    /** Raw images to the float input: the horizontal pass into the rows buffer, then the vertical pass. */
    private void preprocess(Arena args, ForwardPlan.Preprocess p) {
        ForwardPlan.Ref img = p.images(), rows = p.rows(), out = p.out();
        PreprocessTaps t = preprocessTaps;
        kernels.preprocessRows(args, lane.stream, ptr(img), taps + t.colFirst(), taps + t.colCount(), taps + t.colWeights(),
                t.maxColTaps(), ptr(rows), img.n(), img.h(), img.w(), p.y0(), p.y1(), out.w(), rows.elements());
        kernels.preprocessCols(args, lane.stream, ptr(rows), taps + t.rowFirst(), taps + t.rowCount(), taps + t.rowWeights(),
                t.maxRowTaps(), ptr(out), img.n(), rows.h(), p.y0(), out.w(), out.elements());
    }

    private void convertInput(Arena args, ForwardPlan.ToNhwc t) {
        kernels.toNhwc(args, lane.stream, storage, ptr(t.in()), ptr(t.out()), t.in().c(), t.out().c(), t.out().plane(),
                t.out().elements());
    }

    /**
     * A linear layer of an FP16/BF16 plan as our 1x1 kernel over [N, in]: into its output with the
     * bias and activation fused, or, for the float logits, raw into {@code raw} and then bias +
     * activation into float.
     */
    private void denseNhwc(Arena args, ForwardPlan.Dense d) {
        DeviceWeights w = model.weights();
        String name = d.linear().name();
        boolean toFloat = d.out() != d.raw();
        kernels.pointwise(args, lane.stream, storage, ptr(d.in()), w.pointer(name + ".weight"),
                toFloat ? 0 : w.pointer(name + ".bias"), 0, 0, 1, ptr(d.raw()), d.in().n(), d.in().c(), d.raw().c(),
                toFloat ? Activation.IDENTITY : d.linear().activation());
        if (toFloat) {
            kernels.biasActNhwc(args, lane.stream, storage, ptr(d.raw()), ptr(d.out()), w.pointer(name + ".bias"), 0, d.out().c(),
                    d.out().elements(), d.linear().activation(), true);
        }
    }

    /** cuDNN's half of a conv: into its output, raw. */
    private void cudnnForward(ForwardPlan.Conv c) {
        ConvBnAct conv = c.conv();
        String weight = conv.isDepthwise() ? WeightLayout.cudnnDepthwiseWeight(conv, storage) : WeightLayout.weight(conv);
        convs.get(c).forward(lane.cudnn, model.alphaBeta(), ptr(c.in()), model.weights().pointer(weight), ptr(c.out()),
                workspace, workspaceBytes);
    }

    /** cuDNN's conv into the output, then our bias + activation (+ residual) epilogue in place. */
    private void convCudnn(Arena args, ForwardPlan.Conv c) {
        ConvBnAct conv = c.conv();
        DeviceWeights w = model.weights();
        cudnnForward(c);
        long bias = w.pointer(WeightLayout.bias(conv)), residual = c.residual() == null ? 0 : ptr(c.residual());
        if (plan.nhwc()) {
            kernels.biasActNhwc(args, lane.stream, storage, ptr(c.out()), ptr(c.out()), bias, residual, c.out().c(),
                    c.out().elements(), conv.activation(), false);
        } else {
            kernels.biasAct(args, lane.stream, ptr(c.out()), bias, residual, c.out().c(), c.out().plane(), c.out().elements(),
                    conv.activation());
        }
    }

    /**
     * Our kernel: the depthwise conv; the 1x1 conv with its epilogue (and any SE scale) fused; the
     * stem, from the float input in FP16/BF16 plans, or a dense k x k conv in float plans.
     */
    private void convOurs(Arena args, ForwardPlan.Conv c) {
        if (c.conv().isDepthwise()) {
            depthwiseOurs(args, c);
            return;
        }
        ConvBnAct conv = c.conv();
        DeviceWeights w = model.weights();
        long weight = w.pointer(WeightLayout.weight(conv)), bias = w.pointer(WeightLayout.bias(conv));
        long residual = c.residual() == null ? 0 : ptr(c.residual());
        ForwardPlan.Step se = scaledOnRead.get(c);
        long scale = se == null ? 0 : ptr(scaleOf(se));
        ForwardPlan.Ref in = c.in(), out = c.out();
        if (conv.isPointwise() && plan.nhwc()) {
            kernels.pointwise(args, lane.stream, storage, ptr(in), weight, bias, residual, scale, in.plane(), ptr(out),
                    (long) in.n() * in.plane(), in.c(), out.c(), conv.activation());
        } else if (conv.isPointwise()) {
            kernels.pointwiseNchw(args, lane.stream, model.precision() == Precision.TF32, ptr(in), weight, bias, residual, scale,
                    ptr(out), in.n(), in.c(), out.c(), in.plane(), conv.activation());
        } else if (plan.nhwc()) {
            ForwardPlan.Ref image = toNhwc.in();
            kernels.stem(args, lane.stream, storage, ptr(image), w.pointer(WeightLayout.stemWeight(conv)), bias, ptr(out),
                    image.n(), image.c(), image.h(), image.w(), out.c(), out.h(), out.w(), conv.kernel(), conv.stride(),
                    conv.padding(), conv.dilation(), conv.activation());
        } else {
            if (residual != 0) throw new IllegalStateException(conv.name() + ": our dense k x k conv adds no residual");
            kernels.convNchw(args, lane.stream, ptr(in), weight, bias, ptr(out), in.c(), in.h(), in.w(), out.c(), out.h(),
                    out.w(), conv.kernel(), conv.stride(), conv.padding(), conv.dilation(), conv.activation(), out.elements());
        }
    }

    private void depthwiseOurs(Arena args, ForwardPlan.Conv c) {
        ConvBnAct conv = c.conv();
        long w = model.weights().pointer(WeightLayout.weight(conv)), bias = model.weights().pointer(WeightLayout.bias(conv));
        if (!plan.nhwc()) {
            kernels.depthwise(args, lane.stream, ptr(c.in()), w, bias, ptr(c.out()), c.in().c(), c.in().h(), c.in().w(),
                    c.out().h(), c.out().w(), conv.kernel(), conv.stride(), conv.padding(), conv.dilation(), conv.activation(),
                    c.out().elements());
            return;
        }
        LaunchGeometry.Launch l = kernels.depthwiseNhwc(args, lane.stream, storage, ptr(c.in()), w, bias, ptr(c.out()),
                c.partial() == null ? 0 : ptr(c.partial()), c.out().n(), c.out().c(), c.in().h(), c.in().w(), c.out().h(),
                c.out().w(), conv.kernel(), conv.stride(), conv.padding(), conv.dilation(), conv.activation());
        if (c.partial() != null && l.gridY() != c.partial().h()) {
            throw new IllegalStateException(conv.name() + ": the depthwise launch has " + l.gridY()
                    + " pixel chunks but the plan sized " + c.partial().h() + " partial sums");
        }
    }

    private Tensor download(ForwardPlan.Output o) {
        driver.streamSynchronize(lane.stream);
        long n = o.value().elements();
        int bytes = plan.elementBytes(o.value().buffer());
        float[] data = new float[Math.toIntExact(n)];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(n * bytes, 64);
            driver.copyDtoH(host, ptr(o.value()), n * bytes);
            if (bytes == Float.BYTES) {
                MemorySegment.copy(host, JAVA_FLOAT, 0, data, 0, data.length);
            } else {
                for (int i = 0; i < data.length; i++) data[i] = storage.decode(host.getAtIndex(JAVA_SHORT, i));
            }
        }
        return o.traceTensor(data, plan.nhwc());
    }

    private long ptr(ForwardPlan.Ref r) {
        return buffers.get(r.buffer());
    }

    /** Frees everything this plan holds, continuing past failures and reporting the first. */
    @Override
    public void close() {
        RuntimeException first = Cleanup.runAll(
                () -> { if (hostGraph.exec != null) driver.graphExecDestroy(hostGraph.exec); },
                () -> { if (stepsGraph.exec != null) driver.graphExecDestroy(stepsGraph.exec); },
                () -> { if (taps != 0) driver.memFree(taps); },
                () -> convs.values().forEach(CudnnConv::close),
                () -> { if (memory != 0) driver.memFree(memory); },
                () -> { if (pinnedInput != null) driver.memFreeHost(pinnedInput); },
                () -> { if (pinnedLogits != null) driver.memFreeHost(pinnedLogits); });
        hostGraph.exec = stepsGraph.exec = pinnedInput = pinnedLogits = null;
        taps = 0;
        memory = 0;
        convs.clear();
        buffers.clear();
        if (first != null) throw first;
    }
}
