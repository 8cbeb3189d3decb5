package dev.mnv3.core.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.tensor.Tensor;
import java.util.function.IntToLongFunction;
import org.junit.jupiter.api.Test;

/** The steady-state rule on a fake clock and a fake JIT: each run advances them as a model warming up would. */
class WarmupTest {
    /** A run's cost in ns, from its index and the fake time it starts at. */
    interface Cost {
        long nanos(int run, long now);
    }

    /** A run's cost, and the JIT's compile time so far as a function of the runs done. */
    static final class Fake implements Warmup.Probe, Runnable {
        final Cost nanosOfRun;
        final IntToLongFunction compileMillisAfter;
        long now;
        int runs;

        Fake(Cost nanosOfRun, IntToLongFunction compileMillisAfter) {
            this.nanosOfRun = nanosOfRun;
            this.compileMillisAfter = compileMillisAfter;
        }

        public void run() {
            now += nanosOfRun.nanos(runs++, now);
        }

        public long nanoTime() {
            return now;
        }

        public long compileMillis() {
            return compileMillisAfter.applyAsLong(runs);
        }

        Warmup.Outcome warmUp() {
            return Warmup.steady(this, 0.5, 20).run(this);
        }
    }

    static final long MS = 1_000_000;

    @Test
    void stopsThreeQuietEvenWindowsAfterTheJitIsDone() {
        // 30 slow runs of 50 ms (1.5 s, 3 windows) while the JIT compiles, then 20 ms runs
        Fake f = new Fake((run, now) -> run < 30 ? 50 * MS : 20 * MS, runs -> 40L * Math.min(runs, 30));
        Warmup.Outcome o = f.warmUp();
        assertEquals("steady", o.how());
        assertEquals(3.0, o.seconds(), 1e-9, "three fast windows after three slow ones");
    }

    @Test
    void aJitThatKeepsCompilingIsNotSteadyEvenAtAnEvenPace() {
        Fake f = new Fake((run, now) -> 20 * MS, runs -> 15L * runs); // 15 ms of compiling per 20 ms run
        Warmup.Outcome o = f.warmUp();
        assertEquals("cap", o.how());
        assertTrue(o.seconds() >= 20 && o.seconds() < 20.5, o.toString());
        assertTrue(o.describe().contains("not steady"), o.describe());
    }

    @Test
    void aPaceThatSwingsMoreThanTheToleranceIsNotSteady() {
        // quiet JIT, but every other second twice as slow: any three windows see both paces
        Fake f = new Fake((run, now) -> now / 1000 / MS % 2 == 0 ? 20 * MS : 40 * MS, runs -> 7);
        assertEquals("cap", f.warmUp().how());
    }

    @Test
    void withoutJitTimesThePaceAloneDecides() {
        Fake f = new Fake((run, now) -> run < 10 ? 100 * MS : 10 * MS, runs -> -1);
        Warmup.Outcome o = f.warmUp();
        assertEquals("steady", o.how());
        assertEquals(2.5, o.seconds(), 1e-9); // 1 s of slow runs, then three 0.5 s windows
    }

    @Test
    void aRunLongerThanTheCapStillRunsOnceAndStops() {
        Fake f = new Fake((run, now) -> 30_000 * MS, runs -> 0);
        Warmup.Outcome o = f.warmUp();
        assertEquals(1, f.runs);
        assertEquals("cap", o.how());
    }

    @Test
    void benchReportsItsWarmup() {
        long[] clock = {0};
        Warmup.Probe ticking = new Warmup.Probe() { // 100 ms a reading: a window of 0.3 s is two or three runs
            public long nanoTime() {
                return clock[0] += 100 * MS;
            }

            public long compileMillis() {
                return 0;
            }
        };
        ThroughputTest.Sleeper model = new ThroughputTest.Sleeper(-1);
        Throughput.Result r = Throughput.measure(model, Tensor.zeros(1, 3, 64, 64), 2, Warmup.steady(ticking, 0.3, 20), 0.05,
                p -> { });
        assertEquals("steady", r.warmup().how());
        String json = r.toJson("small", "sleeper", dev.mnv3.core.backend.Precision.FP32, false, null, null, 1, 64, 64);
        assertTrue(json.contains("\"warmup\":\"steady\"") && json.contains("\"warmup_seconds\":"), json);
        Throughput.Result fixed = Throughput.measure(model, Tensor.zeros(1, 3, 64, 64), 0, 0.05, p -> { });
        assertEquals("fixed", fixed.warmup().how());
    }
}
