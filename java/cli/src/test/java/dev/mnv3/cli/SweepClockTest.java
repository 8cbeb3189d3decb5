package dev.mnv3.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SweepClockTest {
    @Test
    void timeLeftFromThePlanThenFromTheMeasurementsDone() {
        long[] now = {0};
        SweepClock c = new SweepClock(4, 10, () -> now[0]);
        c.begin();
        assertEquals("1/4, 0:40 left", c.detail(), "the plan: 4 x 10 s");
        now[0] = 3_000_000_000L;
        assertEquals("1/4, 0:37 left", c.detail());
        now[0] = 30_000_000_000L; // the first took 30 s, compiling included: so will the others
        c.end();
        c.begin();
        assertEquals("2/4, 1:30 left", c.detail());
        assertEquals("1:01:05", SweepClock.clock(3665));
    }
}
