package dev.mnv3.serve;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stands in for the network where the test is about batching, not numerics: logits row i is
 * [sum of image i, its first value, the batch size the model saw], so each request can check that
 * it got its own rows. It records every batch size, can hold runs at a gate, and can fail once.
 */
final class FakeModel implements CompiledModel {
    static final Graph GRAPH = Graph.of(MobileNetV3Config.small());

    final List<Integer> batches = Collections.synchronizedList(new ArrayList<>());
    /** The array of every input the model ran on, to see which arrays reached it. */
    final List<float[]> inputs = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger running = new AtomicInteger(), mostAtOnce = new AtomicInteger();
    volatile CountDownLatch gate;
    volatile RuntimeException failNext;
    volatile CountDownLatch started = new CountDownLatch(0);

    @Override
    public Graph graph() {
        return GRAPH;
    }

    @Override
    public String backend() {
        return "fake";
    }

    @Override
    public Tensor run(Tensor input) {
        int n = input.dim(0), per = input.size() / n;
        batches.add(n);
        inputs.add(input.data());
        mostAtOnce.accumulateAndGet(running.incrementAndGet(), Math::max);
        started.countDown();
        try {
            CountDownLatch g = gate;
            if (g != null && !g.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("the test never opened the gate");
            RuntimeException f = failNext;
            if (f != null) {
                failNext = null;
                throw f;
            }
            Tensor logits = Tensor.zeros(n, 3);
            for (int i = 0; i < n; i++) {
                double sum = 0;
                for (int j = 0; j < per; j++) sum += input.data()[i * per + j];
                logits.data()[i * 3] = (float) sum;
                logits.data()[i * 3 + 1] = input.data()[i * per];
                logits.data()[i * 3 + 2] = n;
            }
            return logits;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            running.decrementAndGet();
        }
    }

    /** The logits, and each feature level as [N, 1, 1, 1] holding the image's first value times the stride. */
    @Override
    public Map<String, Tensor> trace(Tensor input) {
        Tensor logits = run(input);
        Map<String, Tensor> out = new LinkedHashMap<>();
        int n = input.dim(0), per = input.size() / n;
        for (FeatureLevel l : GRAPH.featureLevels()) {
            Tensor f = Tensor.zeros(n, 1, 1, 1);
            for (int i = 0; i < n; i++) f.data()[i] = input.data()[i * per] * l.stride();
            out.put(l.node(), f);
        }
        out.put(GRAPH.outputNode(), logits);
        return out;
    }

    @Override
    public void close() {
    }

    /** An input of {@code n} images of size h x w, every value {@code v}. */
    static Tensor images(int n, int h, int w, float v) {
        Tensor t = Tensor.zeros(n, 3, h, w);
        java.util.Arrays.fill(t.data(), v);
        return t;
    }
}
