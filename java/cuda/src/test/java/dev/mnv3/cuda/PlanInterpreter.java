package dev.mnv3.cuda;

import dev.mnv3.core.Activation;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.tensor.Tensor;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.LaunchGeometry;
import dev.mnv3.cuda.plan.StorageType;
import dev.mnv3.cuda.plan.WeightLayout;

/**
 * Executes a {@link ForwardPlan} on the CPU exactly as {@link PlanExecutor} does on the GPU: the
 * same buffers (sized by the plan, poisoned with NaN), the same steps as they are (each conv with
 * the numerics of whoever the plan gives it to), the weights in the same {@link WeightLayout}
 * layouts. In FP16/BF16 plans every value a
 * 16-bit buffer receives is rounded to that type, and the weights as {@link DeviceWeights}
 * converts them, so the result is what the GPU computes up to float summation order. Proves the
 * plan, the weight layouts and the reduced-precision numerics without a GPU.
 */
final class PlanInterpreter {
    private final ForwardPlan plan;
    private final WeightLayout weights;
    private final StorageType storage;
    private final Map<ForwardPlan.Buffer, float[]> buffers = new EnumMap<>(ForwardPlan.Buffer.class);
    /** FP32 plans: how a TF32 convolution rounds its operands ({@link Tf32#OFF}: strict FP32). */
    private final Tf32 tf32;

    PlanInterpreter(ForwardPlan plan, WeightLayout weights) {
        this(plan, weights, Tf32.OFF);
    }

    /**
     * {@code tf32}: a float plan whose convolutions run on TF32 tensor cores, all of them, depthwise
     * included (cuDNN runs a depthwise conv where it times faster than ours): the worst case.
     */
    PlanInterpreter(ForwardPlan plan, WeightLayout weights, Tf32 tf32) {
        if (tf32 != Tf32.OFF && plan.nhwc()) throw new IllegalArgumentException("TF32 applies to float plans only");
        this.tf32 = tf32;
        this.plan = plan;
        this.weights = weights;
        this.storage = plan.storage();
        plan.sizes().forEach((b, n) -> {
            float[] a = new float[Math.toIntExact(n)];
            Arrays.fill(a, Float.NaN);
            buffers.put(b, a);
        });
    }

    /** Every node's output for {@code input}: the network input as F32, F16 or BF16, or raw U8 images for an images plan. */
    Map<String, Tensor> trace(Tensor input) {
        float[] given = input.toFloat().data(); // exact: the device widens F16/BF16 and reads U8 as it is
        System.arraycopy(given, 0, buffers.get(plan.given().buffer()), 0, given.length);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (ForwardPlan.Step step : plan.steps()) {
            switch (step) {
                case ForwardPlan.ToFloat t -> write(t.out(), read(t.raw()));
                case ForwardPlan.Preprocess p -> {
                    // as the host preprocesses them: the device's two passes must give exactly this
                    float[] raw = read(p.images());
                    byte[] px = new byte[raw.length];
                    for (int i = 0; i < raw.length; i++) px[i] = (byte) raw[i];
                    ForwardPlan.Ref img = p.images();
                    write(p.out(), p.preprocessing().apply(Tensor.ofBytes(new int[] {img.n(), img.h(), img.w(), 3}, px)).data());
                }
                case ForwardPlan.ToNhwc t -> write(t.out(), NhwcOps.toNhwc(read(t.in()), t.in().n(), t.in().c(), t.out().c(),
                        t.out().plane()));
                case ForwardPlan.Conv c when plan.nhwc() -> convNhwc(c);
                case ForwardPlan.Conv c -> conv(c);
                case ForwardPlan.Excite e -> {
                    String se = e.se().name();
                    int n = e.x().n();
                    write(e.pooled(), CpuOps.pool(read(e.x()), n * e.x().c(), e.x().plane()));
                    write(e.hidden(), CpuOps.linear(read(e.pooled()), w(se + ".fc1.weight"), w(se + ".fc1.bias"), n,
                            e.pooled().c(), e.hidden().c(), Activation.RELU));
                    write(e.scale(), CpuOps.linear(read(e.hidden()), w(se + ".fc2.weight"), w(se + ".fc2.bias"), n,
                            e.hidden().c(), e.scale().c(), Activation.HARDSIGMOID));
                    if (e.scales()) {
                        CpuOps.channelScale(buffers.get(e.x().buffer()), read(e.scale()), e.x().plane(), (int) e.x().elements());
                    }
                }
                case ForwardPlan.ExciteFused e -> {
                    String se = e.se().name();
                    write(e.scale(), NhwcOps.seFc(read(e.partial()), e.x().n(), e.partial().h(), e.x().plane(),
                            w(se + ".fc1.weight"), w(se + ".fc1.bias"), w(se + ".fc2.weight"), w(se + ".fc2.bias"),
                            e.se().channels(), e.se().squeezeChannels()));
                    if (e.scales()) write(e.x(), NhwcOps.channelScale(read(e.x()), read(e.scale()), e.x().c(), e.x().plane()));
                }
                case ForwardPlan.Pool p when plan.nhwc() -> write(p.out(), NhwcOps.pool(read(p.in()), p.in().n(), p.in().c(),
                        p.in().plane()));
                case ForwardPlan.Pool p -> write(p.out(), CpuOps.pool(read(p.in()), p.in().n() * p.in().c(), p.in().plane()));
                case ForwardPlan.Dense d when d.raw() != null -> { // our 1x1 kernel: one rounding, two for the logits
                    String name = d.linear().name();
                    int n = d.in().n(), in = d.in().c(), outC = d.raw().c();
                    float[] raw = NhwcOps.conv(read(d.in()), n, in, 1, 1, w(name + ".weight"), outC, 1, 1, 0, 1, 1);
                    if (d.out() != d.raw()) {
                        write(d.raw(), raw);
                        raw = read(d.raw());
                    }
                    write(d.out(), NhwcOps.biasAct(raw, w(name + ".bias"), null, outC, d.linear().activation()));
                }
                case ForwardPlan.Dense d -> {
                    String name = d.linear().name();
                    int n = d.in().n();
                    write(d.out(), CpuOps.linear(read(d.in()), w(name + ".weight"), w(name + ".bias"), n,
                            (int) (d.in().elements() / n), d.out().c(), d.linear().activation()));
                }
                case ForwardPlan.Output o -> out.put(o.node().name(), o.traceTensor(read(o.value()), plan.nhwc()));
            }
        }
        return out;
    }

    private void conv(ForwardPlan.Conv c) {
        ConvBnAct k = c.conv();
        ForwardPlan.Ref in = c.in();
        float[] x = tf32.round(input(c)), weight = tf32.round(w(WeightLayout.weight(k)));
        if (k.isDepthwise()) {
            write(c.out(), CpuOps.depthwise(x, in.n(), in.c(), in.h(), in.w(), weight, w(WeightLayout.bias(k)), k.kernel(),
                    k.stride(), k.padding(), k.dilation(), k.activation()));
            return;
        }
        write(c.out(), CpuOps.conv(x, in.n(), in.c(), in.h(), in.w(), weight, k.outChannels(), k.kernel(), k.stride(),
                k.padding(), k.dilation(), k.groups()));
        CpuOps.biasAct(buffers.get(c.out().buffer()), w(WeightLayout.bias(k)), c.residual() == null ? null : read(c.residual()),
                c.out().c(), c.out().plane(), (int) c.out().elements(), k.activation());
    }

    /**
     * cuDNN stores its raw result in the storage type (the first rounding), then the epilogue rounds
     * once more; our stem and 1x1 kernels round once, and the stem reads the unrounded input.
     */
    private void convNhwc(ForwardPlan.Conv c) {
        ConvBnAct k = c.conv();
        ForwardPlan.Ref in = c.in();
        if (k.isDepthwise()) {
            ForwardPlan.Ref out = c.out();
            int rows = LaunchGeometry.depthwiseNhwc(ForwardPlan.channelGroups(out.c()), out.plane(), out.n(),
                    plan.multiprocessors()).blockY();
            float[] partial = c.partial() == null ? null : buffers.get(c.partial().buffer());
            write(out, NhwcOps.depthwise(read(in), in.n(), in.c(), in.h(), in.w(), w(WeightLayout.weight(k)),
                    w(WeightLayout.bias(k)), k.kernel(), k.stride(), k.padding(), k.dilation(), k.activation(), storage, partial,
                    c.partial() == null ? 1 : c.partial().h(), rows));
            return;
        }
        // our stem reads the float NCHW input and float weights (WeightLayout.stemWeight, here in cuDNN's layout)
        boolean floatStem = c.ours() && in.buffer() == ForwardPlan.Buffer.INPUT;
        int channels = floatStem ? ForwardPlan.NHWC_CHANNEL_ALIGN : in.c();
        float[] x = floatStem ? NhwcOps.toNhwc(read(in), in.n(), in.c(), channels, in.plane()) : input(c);
        float[] weight = floatStem ? weights.entry(WeightLayout.weight(k)).data() : w(WeightLayout.weight(k));
        float[] raw = NhwcOps.conv(x, in.n(), channels, in.h(), in.w(), weight, k.outChannels(), k.kernel(), k.stride(),
                k.padding(), k.dilation(), k.groups());
        if (!c.ours()) { // cuDNN stores its raw result: the first rounding
            write(c.out(), raw);
            raw = read(c.out());
        }
        write(c.out(), NhwcOps.biasAct(raw, w(WeightLayout.bias(k)), c.residual() == null ? null : read(c.residual()),
                c.out().c(), k.activation()));
    }


    /**
     * A conv's input as its kernel reads it: with the SE scale applied on read when the plan says
     * so (in the storage type, as the tensor-core GEMM takes it).
     */
    private float[] input(ForwardPlan.Conv c) {
        float[] x = read(c.in());
        if (c.scale() == null) return x;
        ForwardPlan.Ref in = c.in();
        if (!plan.nhwc()) {
            CpuOps.channelScale(x, read(c.scale()), in.plane(), x.length);
            return x;
        }
        float[] scaled = NhwcOps.channelScale(x, read(c.scale()), in.c(), in.plane());
        for (int i = 0; i < scaled.length; i++) scaled[i] = storage.round(scaled[i]);
        return scaled;
    }

    /** The weight as the device holds it: rounded to its entry's type. */
    private float[] w(String key) {
        WeightLayout.Entry e = weights.entry(key);
        if (e.type() == StorageType.F32) return e.data();
        float[] r = e.data().clone();
        for (int i = 0; i < r.length; i++) r[i] = e.type().round(r[i]);
        return r;
    }

    private float[] read(ForwardPlan.Ref r) {
        return Arrays.copyOf(buffers.get(r.buffer()), (int) r.elements());
    }

    /** Stores {@code data} as the buffer's type holds it. */
    private void write(ForwardPlan.Ref r, float[] data) {
        if (data.length != r.elements()) throw new AssertionError(r + " receives " + data.length + " values");
        float[] b = buffers.get(r.buffer());
        // a 16-bit buffer rounds what it receives; the raw input holds the caller's exact values
        boolean round = plan.elementBytes(r.buffer()) != Float.BYTES && r.buffer() != ForwardPlan.Buffer.RAW_INPUT;
        for (int i = 0; i < data.length; i++) b[i] = round ? storage.round(data[i]) : data[i];
    }
}
