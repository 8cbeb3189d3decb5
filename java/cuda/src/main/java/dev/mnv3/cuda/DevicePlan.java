package dev.mnv3.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.mnv3.core.Activation;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Linear;
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
    /** The cuDNN half of every step cuDNN runs: dense convs, linears of NHWC plans, depthwise where it won. */
    private final Map<ForwardPlan.Step, CudnnConv> convs = new IdentityHashMap<>();
    /** The conv steps our kernels run (see {@link KernelChoice}). */
    private final Set<ForwardPlan.Conv> ourKernel = Collections.newSetFromMap(new IdentityHashMap<>());
    /** FP16/BF16 plans: the float-to-NHWC conversion and the stem conv that reads its output (null otherwise). */
    private final ForwardPlan.ToNhwc toNhwc;
    private final ForwardPlan.Conv stemConv;
    /** SE projections our 1x1 kernel runs, with the excitation whose scale it applies as it reads its input. */
    private final Map<ForwardPlan.Conv, ForwardPlan.ExciteFused> scaledOnRead = new IdentityHashMap<>();
    private final Storage storage;
    private long memory, workspace, workspaceBytes;
    private MemorySegment pinnedInput, pinnedLogits, graph;
    private int eagerRuns;
    private boolean graphFailed;

    DevicePlan(CudaModel.Lane lane, ForwardPlan plan) {
        this.lane = lane;
        this.model = lane.shared;
        this.driver = model.runtime().driver;
        this.kernels = model.runtime().kernels;
        this.plan = plan;
        this.storage = plan.storage();
        this.toNhwc = plan.steps().getFirst() instanceof ForwardPlan.ToNhwc t ? t : null;
        this.stemConv = toNhwc == null ? null : plan.steps().stream().filter(s -> s instanceof ForwardPlan.Conv c
                && c.in() == toNhwc.out() && !c.conv().isDepthwise()).map(s -> (ForwardPlan.Conv) s).findFirst().orElse(null);
        try {
            Map<ForwardPlan.Buffer, Long> offsets = new LinkedHashMap<>();
            long total = 0;
            for (Map.Entry<ForwardPlan.Buffer, Long> e : plan.sizes().entrySet()) {
                offsets.put(e.getKey(), total);
                total += LaunchGeometry.ceilDiv(e.getValue() * plan.elementBytes(e.getKey()), ALIGN) * ALIGN;
            }
            KernelChoice.Mode dwMode = KernelChoice.mode(KernelChoice.DEPTHWISE_PROPERTY);
            for (ForwardPlan.Step s : plan.steps()) {
                CudnnConv cc = switch (s) {
                    case ForwardPlan.Conv c when !c.conv().isDepthwise() -> cudnnConv(c.conv(), c.in(), c.out());
                    case ForwardPlan.Conv c when c.partial() == null && dwMode != KernelChoice.Mode.OURS ->
                            cudnnDepthwise(c, dwMode);
                    case ForwardPlan.Dense d when d.raw() != null -> cudnnConv(asConv(d.linear()), d.in(), d.raw());
                    default -> null;
                };
                if (cc != null) {
                    convs.put(s, cc);
                    workspaceBytes = Math.max(workspaceBytes, cc.workspaceBytes);
                }
            }
            long wsOffset = total;
            total += LaunchGeometry.ceilDiv(workspaceBytes, ALIGN) * ALIGN;
            memory = driver.memAlloc(Math.max(total, ALIGN));
            for (Map.Entry<ForwardPlan.Buffer, Long> e : offsets.entrySet()) buffers.put(e.getKey(), memory + e.getValue());
            workspace = workspaceBytes > 0 ? memory + wsOffset : 0;
            pinnedInput = driver.memAllocHost(plan.input().elements() * Float.BYTES);
            pinnedLogits = driver.memAllocHost(plan.logits().elements() * Float.BYTES);
            chooseAlgorithms();
            chooseKernels(dwMode, KernelChoice.mode(KernelChoice.POINTWISE_PROPERTY), KernelChoice.mode(KernelChoice.STEM_PROPERTY));
            scaledOnRead.putAll(scaledOnRead(plan, ourKernel::contains));
        } catch (RuntimeException e) {
            close();
            throw new IllegalStateException("cannot prepare the GPU for batch " + plan.batch() + " at " + plan.height() + "x"
                    + plan.width() + ": " + e.getMessage(), e);
        }
    }

    private CudnnConv cudnnConv(ConvBnAct conv, ForwardPlan.Ref in, ForwardPlan.Ref out) {
        return new CudnnConv(model.runtime().cudnn, lane.cudnn, conv, in, out, model.precision(), model.algorithms());
    }

    /** cuDNN's grouped conv for a depthwise step, or null where cuDNN cannot set it up (then ours runs it). */
    private CudnnConv cudnnDepthwise(ForwardPlan.Conv c, KernelChoice.Mode mode) {
        try {
            return cudnnConv(c.conv(), c.in(), c.out());
        } catch (RuntimeException e) {
            if (mode == KernelChoice.Mode.CUDNN) throw e;
            LOG.log(System.Logger.Level.DEBUG, c.conv().name() + ": cuDNN cannot run this depthwise conv, ours does: "
                    + e.getMessage());
            return null;
        }
    }

    /**
     * Times every cuDNN algorithm candidate of the convs whose algorithm no lane has chosen yet, on
     * this plan's buffers, and keeps the fastest for the shape (shared by every lane and plan).
     */
    private void chooseAlgorithms() {
        for (Map.Entry<ForwardPlan.Step, CudnnConv> e : convs.entrySet()) {
            CudnnConv cc = e.getValue();
            if (cc.choice() != null) continue;
            ConvAlgorithm.Choice known = model.algorithms().get(cc.key);
            if (known == null) {
                double[] ms = new double[cc.candidates.size()];
                for (int i = 0; i < ms.length; i++) {
                    cc.use(cc.candidates.get(i));
                    ms[i] = millisOrNaN(stepName(e.getKey()), "cuDNN algorithm " + cc.candidates.get(i),
                            args -> cudnnForward(e.getKey()));
                }
                ConvAlgorithm.Choice best = ConvAlgorithm.fastest(cc.candidates, ms);
                known = model.algorithms().putIfAbsent(cc.key, best);
                if (known == null) {
                    known = best;
                    String note = String.format(java.util.Locale.ROOT, "%-22s cuDNN algorithm %d (math %d) of %d timed, %.4f ms",
                            stepName(e.getKey()), best.algo(), best.mathType(), ms.length, ms[cc.candidates.indexOf(best)]);
                    model.choiceNotes().add(note);
                    LOG.log(System.Logger.Level.DEBUG, note);
                }
            }
            cc.use(known);
        }
    }

    private static String stepName(ForwardPlan.Step s) {
        return switch (s) {
            case ForwardPlan.Conv c -> c.conv().name();
            case ForwardPlan.Dense d -> d.linear().name();
            default -> s.toString();
        };
    }

    /**
     * Decides, for every conv both can run, whether ours or cuDNN does: depthwise convs cuDNN could
     * set up, and in FP16/BF16 plans the 1x1 convs (ours fuses the epilogue). Timed on this lane's
     * stream once per shape; the decision is shared by every lane and plan of the model.
     */
    private void chooseKernels(KernelChoice.Mode depthwise, KernelChoice.Mode pointwise, KernelChoice.Mode stem) {
        for (ForwardPlan.Step s : plan.steps()) {
            if (!(s instanceof ForwardPlan.Conv c)) continue;
            boolean dw = c.conv().isDepthwise(), isStem = c == stemConv;
            if (dw && !convs.containsKey(c)) {
                ourKernel.add(c); // SE depthwise of a 16-bit plan, or cuDNN could not set it up
                continue;
            }
            if (!dw && !isStem && !(plan.nhwc() && c.conv().isPointwise())) continue;
            KernelChoice.Mode mode = dw ? depthwise : isStem ? stem : pointwise;
            // ours is preferred where it is the more exact (depthwise: no second rounding; stem: float input)
            KernelChoice.Impl preferred = dw || isStem ? KernelChoice.Impl.OURS : KernelChoice.Impl.CUDNN;
            KernelChoice.Impl impl = switch (mode) {
                case OURS -> KernelChoice.Impl.OURS;
                case CUDNN -> KernelChoice.Impl.CUDNN;
                case AUTO -> model.choices().computeIfAbsent(ConvAlgorithm.Key.of(c.conv(), c.in(), model.precision()),
                        k -> measure(c, preferred));
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
    static Map<ForwardPlan.Conv, ForwardPlan.ExciteFused> scaledOnRead(ForwardPlan plan, Predicate<ForwardPlan.Conv> ours) {
        Map<ForwardPlan.Conv, ForwardPlan.ExciteFused> fused = new IdentityHashMap<>();
        ForwardPlan.ExciteFused pending = null;
        for (ForwardPlan.Step s : plan.steps()) {
            if (s instanceof ForwardPlan.ExciteFused e) {
                pending = e;
            } else if (s instanceof ForwardPlan.Conv c && pending != null) {
                if (c.in() == pending.x() && c.conv().isPointwise() && ours.test(c)) fused.put(c, pending);
                pending = null;
            }
        }
        return fused;
    }

    private KernelChoice.Impl measure(ForwardPlan.Conv c, KernelChoice.Impl preferred) {
        String layer = c.conv().name();
        double ours = millisOrNaN(layer, "ours", args -> convOurs(args, c)), theirs = millisOrNaN(layer, "cuDNN", args -> {
            if (c == stemConv) convertInput(args, toNhwc); // cuDNN's stem needs the converted input
            convCudnn(args, c);
        });
        KernelChoice.Impl impl = KernelChoice.faster(preferred, ours, theirs);
        ForwardPlan.Ref in = c.in();
        String note = String.format(java.util.Locale.ROOT, "%-22s %-9s %dx%dx%dx%d -> %d: ours %.4f ms, cuDNN %.4f ms: %s",
                c.conv().name(), c.conv().isDepthwise() ? "depthwise" : "1x1", in.n(), in.c(), in.h(), in.w(), c.out().c(), ours,
                theirs, impl.name().toLowerCase(java.util.Locale.ROOT));
        model.choiceNotes().add(note);
        LOG.log(System.Logger.Level.DEBUG, note);
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

    /** A linear layer as the 1x1 conv cuDNN runs on [N, in, 1, 1]; its weight key is the linear's own. */
    private static ConvBnAct asConv(Linear l) {
        return ConvBnAct.pointwise(l.name(), l.inFeatures(), l.outFeatures(), l.activation());
    }

    /** Logits [N, classes]. */
    Tensor run(Tensor input) {
        MemorySegment.copy(input.data(), 0, pinnedInput, JAVA_FLOAT, 0, input.size());
        if (graph == null && !graphFailed && eagerRuns > 0 && model.graphs()) capture();
        if (graph != null) {
            driver.graphLaunch(graph, lane.stream);
        } else {
            try (Arena args = Arena.ofConfined()) {
                enqueueForward(args);
            }
            eagerRuns++;
        }
        driver.streamSynchronize(lane.stream);
        float[] logits = new float[(int) plan.logits().elements()];
        MemorySegment.copy(pinnedLogits, JAVA_FLOAT, 0, logits, 0, logits.length);
        return new Tensor(new int[] {plan.batch(), plan.logits().c()}, logits);
    }

    /** Every node's output, copied back as soon as it is computed. */
    Map<String, Tensor> trace(Tensor input) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        MemorySegment.copy(input.data(), 0, pinnedInput, JAVA_FLOAT, 0, input.size());
        try (Arena args = Arena.ofConfined()) {
            driver.copyHtoDAsync(buffers.get(plan.input().buffer()), pinnedInput, plan.input().elements() * Float.BYTES,
                    lane.stream);
            enqueue(args, o -> out.put(o.node().name(), download(o)));
        }
        return out;
    }

    /** Mean GPU time of one forward pass over {@code iterations} runs, measured with CUDA events. */
    double deviceMillis(Tensor input, int iterations) {
        run(input); // warm up (and capture the graph)
        return millis(0, iterations, args -> {
            if (graph != null) {
                driver.graphLaunch(graph, lane.stream);
            } else {
                enqueueForward(args);
            }
        });
    }

    /** Input copy, every step, logits copy: what one run (or one graph replay) does. */
    private void enqueueForward(Arena args) {
        driver.copyHtoDAsync(buffers.get(plan.input().buffer()), pinnedInput, plan.input().elements() * Float.BYTES,
                lane.stream);
        enqueue(args, null);
        driver.copyDtoHAsync(pinnedLogits, buffers.get(plan.logits().buffer()), plan.logits().elements() * Float.BYTES,
                lane.stream);
    }

    private void capture() {
        MemorySegment stream = lane.stream;
        try (Arena args = Arena.ofConfined()) {
            driver.beginCapture(stream);
            try {
                enqueueForward(args);
            } catch (RuntimeException e) {
                abandonCapture(stream);
                throw e;
            }
            MemorySegment g = driver.endCapture(stream);
            try {
                graph = driver.instantiate(g);
            } finally {
                driver.graphDestroy(g);
            }
        } catch (RuntimeException e) {
            graphFailed = true;
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
                    kernels.channelScale(args, stream, ptr(e.x()), ptr(e.scale()), e.x().plane(), e.x().elements());
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
                case ForwardPlan.Dense d when d.raw() != null -> {
                    String name = d.linear().name();
                    cudnnForward(d);
                    kernels.biasActNhwc(args, stream, storage, ptr(d.raw()), ptr(d.out()), w.pointer(name + ".bias"), 0,
                            d.out().c(), d.out().elements(), d.linear().activation(), d.out() != d.raw());
                }
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

    private void convertInput(Arena args, ForwardPlan.ToNhwc t) {
        kernels.toNhwc(args, lane.stream, storage, ptr(t.in()), ptr(t.out()), t.in().c(), t.out().c(), t.out().plane(),
                t.out().elements());
    }

    /** cuDNN's half of a step: the conv (or the linear as a 1x1 conv) into its output, raw. */
    private void cudnnForward(ForwardPlan.Step step) {
        DeviceWeights w = model.weights();
        CudnnConv cc = convs.get(step);
        switch (step) {
            case ForwardPlan.Conv c -> {
                ConvBnAct conv = c.conv();
                String weight = conv.isDepthwise() ? WeightLayout.cudnnDepthwiseWeight(conv, storage) : WeightLayout.weight(conv);
                cc.forward(lane.cudnn, model.alphaBeta(), ptr(c.in()), w.pointer(weight), ptr(c.out()), workspace,
                        workspaceBytes);
            }
            case ForwardPlan.Dense d -> cc.forward(lane.cudnn, model.alphaBeta(), ptr(d.in()),
                    w.pointer(d.linear().name() + ".weight"), ptr(d.raw()), workspace, workspaceBytes);
            default -> throw new IllegalStateException("cuDNN does not run " + step);
        }
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

    /** Our kernel: the depthwise conv, the stem from the float input, or the 1x1 conv with its epilogue fused. */
    private void convOurs(Arena args, ForwardPlan.Conv c) {
        if (c.conv().isDepthwise()) {
            depthwiseOurs(args, c);
            return;
        }
        ConvBnAct conv = c.conv();
        DeviceWeights w = model.weights();
        if (c == stemConv) {
            ForwardPlan.Ref in = toNhwc.in(), out = c.out();
            kernels.stem(args, lane.stream, storage, ptr(in), w.pointer(WeightLayout.stemWeight(conv)),
                    w.pointer(WeightLayout.bias(conv)), ptr(out), in.n(), in.c(), in.h(), in.w(), out.c(), out.h(), out.w(),
                    conv.kernel(), conv.stride(), conv.padding(), conv.dilation(), conv.activation());
            return;
        }
        ForwardPlan.ExciteFused se = scaledOnRead.get(c);
        kernels.pointwise(args, lane.stream, storage, ptr(c.in()), w.pointer(WeightLayout.weight(conv)),
                w.pointer(WeightLayout.bias(conv)), c.residual() == null ? 0 : ptr(c.residual()), se == null ? 0 : ptr(se.scale()),
                c.in().plane(), ptr(c.out()), (long) c.in().n() * c.in().plane(), c.in().c(), c.out().c(), conv.activation());
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
                () -> { if (graph != null) driver.graphExecDestroy(graph); },
                () -> convs.values().forEach(CudnnConv::close),
                () -> { if (memory != 0) driver.memFree(memory); },
                () -> { if (pinnedInput != null) driver.memFreeHost(pinnedInput); },
                () -> { if (pinnedLogits != null) driver.memFreeHost(pinnedLogits); });
        graph = pinnedInput = pinnedLogits = null;
        memory = 0;
        convs.clear();
        buffers.clear();
        if (first != null) throw first;
    }
}
