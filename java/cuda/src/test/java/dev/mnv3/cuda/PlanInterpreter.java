package dev.mnv3.cuda;

import dev.mnv3.core.Activation;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.tensor.Tensor;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Executes a {@link ForwardPlan} on the CPU exactly as {@link DevicePlan} does on the GPU: the
 * same buffers (sized by the plan, poisoned with NaN), the same steps, the weights looked up
 * through the same {@link WeightLayout} keys. Proves the plan without a GPU.
 */
final class PlanInterpreter {
    private final ForwardPlan plan;
    private final WeightLayout weights;
    private final Map<ForwardPlan.Buffer, float[]> buffers = new EnumMap<>(ForwardPlan.Buffer.class);

    PlanInterpreter(ForwardPlan plan, WeightLayout weights) {
        this.plan = plan;
        this.weights = weights;
        plan.sizes().forEach((b, n) -> {
            float[] a = new float[Math.toIntExact(n)];
            Arrays.fill(a, Float.NaN);
            buffers.put(b, a);
        });
    }

    Map<String, Tensor> trace(Tensor input) {
        System.arraycopy(input.data(), 0, buffers.get(plan.input().buffer()), 0, input.size());
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (ForwardPlan.Step step : plan.steps()) {
            switch (step) {
                case ForwardPlan.Conv c -> conv(c);
                case ForwardPlan.Excite e -> {
                    String se = e.se().name();
                    int n = e.x().n();
                    write(e.pooled(), CpuOps.pool(read(e.x()), n * e.x().c(), e.x().plane()));
                    write(e.hidden(), CpuOps.linear(read(e.pooled()), w(se + ".fc1.weight"), w(se + ".fc1.bias"), n,
                            e.pooled().c(), e.hidden().c(), Activation.RELU));
                    write(e.scale(), CpuOps.linear(read(e.hidden()), w(se + ".fc2.weight"), w(se + ".fc2.bias"), n,
                            e.hidden().c(), e.scale().c(), Activation.HARDSIGMOID));
                    CpuOps.channelScale(buffers.get(e.x().buffer()), read(e.scale()), e.x().plane(), (int) e.x().elements());
                }
                case ForwardPlan.Pool p -> write(p.out(), CpuOps.pool(read(p.in()), p.in().n() * p.in().c(), p.in().plane()));
                case ForwardPlan.Dense d -> {
                    String name = d.linear().name();
                    int n = d.in().n();
                    write(d.out(), CpuOps.linear(read(d.in()), w(name + ".weight"), w(name + ".bias"), n,
                            (int) (d.in().elements() / n), d.out().c(), d.linear().activation()));
                }
                case ForwardPlan.Output o -> out.put(o.node().name(), new Tensor(o.traceShape(), read(o.value())));
            }
        }
        return out;
    }

    private void conv(ForwardPlan.Conv c) {
        ConvBnAct k = c.conv();
        ForwardPlan.Ref in = c.in();
        if (k.isDepthwise()) {
            write(c.out(), CpuOps.depthwise(read(in), in.n(), in.c(), in.h(), in.w(), w(WeightLayout.weight(k)),
                    w(WeightLayout.bias(k)), k.kernel(), k.stride(), k.padding(), k.dilation(), k.activation()));
            return;
        }
        write(c.out(), CpuOps.conv(read(in), in.n(), in.c(), in.h(), in.w(), w(WeightLayout.weight(k)), k.outChannels(),
                k.kernel(), k.stride(), k.padding(), k.dilation(), k.groups()));
        CpuOps.biasAct(buffers.get(c.out().buffer()), w(WeightLayout.bias(k)), c.residual() == null ? null : read(c.residual()),
                c.out().c(), c.out().plane(), (int) c.out().elements(), k.activation());
    }

    private float[] w(String key) {
        return weights.entries().get(key).data();
    }

    private float[] read(ForwardPlan.Ref r) {
        return Arrays.copyOf(buffers.get(r.buffer()), (int) r.elements());
    }

    private void write(ForwardPlan.Ref r, float[] data) {
        if (data.length != r.elements()) throw new AssertionError(r + " receives " + data.length + " values");
        System.arraycopy(data, 0, buffers.get(r.buffer()), 0, data.length);
    }
}
