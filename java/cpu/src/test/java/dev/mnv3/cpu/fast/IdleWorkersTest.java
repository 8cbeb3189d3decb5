package dev.mnv3.cpu.fast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.RandomWeights;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** A compiled model between calls uses no CPU: its workers block, they do not poll. */
class IdleWorkersTest {
    private static final java.lang.management.ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** CPU nanoseconds used so far by the pool's worker threads. */
    private static long workerCpuNanos() {
        return Arrays.stream(THREADS.getThreadInfo(THREADS.getAllThreadIds()))
                .filter(t -> t != null && t.getThreadName().startsWith("mnv3-cpu-"))
                .mapToLong(t -> Math.max(0, THREADS.getThreadCpuTime(t.getThreadId()))).sum();
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    @Test
    void anIdleModelWithManyThreadsUsesNoCpu() throws Exception {
        Graph g = Graph.of(MobileNetV3Config.small());
        try (CompiledModel m = new FastBackend().compile(g, RandomWeights.generate(g, 1), CompileOptions.defaults().withThreads(64))) {
            for (int i = 0; i < 3; i++) m.run(RandomWeights.input(1, 64, 64, i)); // every worker has run and gone idle
            Thread.sleep(200); // past the short spin after the last step
            long workers = workerCpuNanos(), process = processCpuNanos();
            Thread.sleep(1000);
            long workersUsed = workerCpuNanos() - workers, processUsed = processCpuNanos() - process;
            // 63 workers that woke every millisecond used 60% of a core here; blocked ones use nothing
            assertTrue(workersUsed < 10_000_000, "63 idle workers used " + workersUsed / 1e6 + " ms of CPU in one second");
            assertTrue(processUsed < 150_000_000, "the process used " + processUsed / 1e6 + " ms of CPU in an idle second");
            assertEquals(63, Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("mnv3-cpu-")).count());
        }
    }

    @Test
    void theWorkersStillWakeForEveryStepAfterSleeping() throws Exception {
        try (WorkerPool pool = new WorkerPool(4)) {
            for (int round = 0; round < 3; round++) {
                Thread.sleep(50); // every worker parks
                java.util.concurrent.atomic.AtomicIntegerArray ranOn = new java.util.concurrent.atomic.AtomicIntegerArray(4);
                pool.runPinned((task, worker) -> ranOn.set(task, 1));
                for (int t = 0; t < 4; t++) assertEquals(1, ranOn.get(t), "task " + t + " in round " + round);
            }
        }
    }
}
