package dev.mnv3.core.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ThroughputTest {
    /** A model that takes 20 ms a call and can serve any number of callers at once. */
    static final class Sleeper implements CompiledModel {
        final AtomicInteger calls = new AtomicInteger(), inFlight = new AtomicInteger(), maxInFlight = new AtomicInteger();
        final Graph graph = Graph.of(MobileNetV3Config.small());
        final int failAt;

        Sleeper(int failAt) {
            this.failAt = failAt;
        }

        public Graph graph() {
            return graph;
        }

        public String backend() {
            return "sleeper";
        }

        public Tensor run(Tensor input) {
            if (calls.incrementAndGet() == failAt) throw new IllegalStateException("device lost");
            maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            inFlight.decrementAndGet();
            return Tensor.zeros(input.dim(0), 1000);
        }

        public Map<String, Tensor> trace(Tensor input) {
            throw new UnsupportedOperationException();
        }

        public void close() {
        }
    }

    @Test
    void concurrentClientsRunAtOnceAndCountEveryImage() {
        Tensor input = Tensor.zeros(2, 3, 64, 64);
        Sleeper one = new Sleeper(-1), four = new Sleeper(-1);
        Throughput.Result r1 = Throughput.measure(one, input, 1, 0, 0.3, p -> { });
        Throughput.Result r4 = Throughput.measure(four, input, 4, 0, 0.3, p -> { });
        assertEquals(4, four.maxInFlight.get(), "the clients overlap");
        assertEquals(4, r4.clients());
        assertTrue(r4.runs() >= 12, r4.toString());
        // four sleepers at once serve about four times the images of one; allow for a slow, noisy machine
        assertTrue(r4.imagesPerSecond() > 2.5 * r1.imagesPerSecond(), r1 + " vs " + r4);
        assertTrue(r4.p50Ms() >= 20, r4.toString());
        String json = r4.toJson("small", "sleeper", dev.mnv3.core.backend.Precision.FP32, false, null, null, 1, 64, 64);
        assertTrue(json.contains("\"clients\":4") && json.contains("\"vector_bits\":null") && !json.contains("cudnn"), json);
        String cuda = r4.toJson("small", "cuda", dev.mnv3.core.backend.Precision.FP16, true, false, null, 1, 64, 64);
        assertTrue(cuda.contains("\"cudnn\":false,") && cuda.contains("\"vector_bits\":null"), cuda);
        String cpu = r4.toJson("small", "cpu", dev.mnv3.core.backend.Precision.FP32, false, null, 256, 1, 64, 64);
        assertTrue(cpu.contains("\"vector_bits\":256,") && !cpu.contains("cudnn"), cpu);
    }

    @Test
    void aClientThatFailsFailsTheMeasurement() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Throughput.measure(new Sleeper(5), Tensor.zeros(1, 3, 64, 64), 3, 0, 0.2, p -> { }));
        assertEquals("device lost", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Throughput.measure(new Sleeper(-1), Tensor.zeros(1, 3, 64, 64), 0, 0, 1,
                p -> { }));
    }
}
