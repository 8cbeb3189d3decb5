package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import dev.mnv3.cuda.exec.LanePool;

/** The lanes that let several threads run one CUDA model at once, with a stand-in for the stream. */
class LanePoolTest {
    /** Stands in for a stream: counts how many callers hold it at once, which must never exceed one. */
    static final class FakeLane implements AutoCloseable {
        final AtomicInteger holders = new AtomicInteger();
        volatile boolean closed;

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void oneThreadReusesOneLane() throws Exception {
        AtomicInteger created = new AtomicInteger();
        LanePool<FakeLane> pool = new LanePool<>(4, () -> { created.incrementAndGet(); return new FakeLane(); });
        FakeLane a = pool.acquire();
        pool.release(a);
        assertSame(a, pool.acquire());
        assertEquals(1, created.get());
    }

    @Test
    void concurrentCallersGetDistinctLanesAndNeverMoreThanTheLimit() throws Exception {
        int max = 3, threads = 8, rounds = 40;
        LanePool<FakeLane> pool = new LanePool<>(max, FakeLane::new);
        AtomicInteger maxInUse = new AtomicInteger(), inUse = new AtomicInteger(), overlaps = new AtomicInteger();
        ExecutorService ex = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                fs.add(ex.submit(() -> {
                    for (int i = 0; i < rounds; i++) {
                        FakeLane l = pool.acquire();
                        if (l.holders.incrementAndGet() != 1) overlaps.incrementAndGet();
                        maxInUse.accumulateAndGet(inUse.incrementAndGet(), Math::max);
                        Thread.sleep(1); // hold the lane long enough for the others to want one
                        inUse.decrementAndGet();
                        l.holders.decrementAndGet();
                        pool.release(l);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get(30, TimeUnit.SECONDS);
        } finally {
            ex.shutdownNow();
        }
        assertEquals(0, overlaps.get(), "a lane was held by two callers at once");
        assertTrue(maxInUse.get() <= max && pool.size() <= max, maxInUse + " in use, " + pool.size() + " created");
        assertTrue(maxInUse.get() > 1, "callers ran concurrently");
    }

    @Test
    void closeWaitsForLanesInUseThenClosesEveryLaneAndRefusesNewCallers() throws Exception {
        LanePool<FakeLane> pool = new LanePool<>(2, FakeLane::new);
        FakeLane held = pool.acquire(), other = pool.acquire();
        assertNotSame(held, other);
        pool.release(other);
        CountDownLatch closing = new CountDownLatch(1);
        Thread closer = new Thread(() -> { closing.countDown(); pool.close(); });
        closer.start();
        closing.await();
        Thread.sleep(100);
        assertTrue(closer.isAlive(), "close returned while a lane was in use");
        assertFalse(held.closed);
        pool.release(held);
        closer.join(5000);
        assertFalse(closer.isAlive());
        assertTrue(held.closed && other.closed);
        assertThrows(IllegalStateException.class, pool::acquire);
        pool.close(); // twice is harmless
    }

    @Test
    void aLaneThatFailsToStartFreesItsSlot() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        LanePool<FakeLane> pool = new LanePool<>(1, () -> {
            if (attempts.incrementAndGet() == 1) throw new IllegalStateException("cuStreamCreate failed");
            return new FakeLane();
        });
        assertThrows(IllegalStateException.class, pool::acquire);
        FakeLane l = pool.acquire();
        assertEquals(1, pool.size());
        pool.release(l);
        assertThrows(IllegalArgumentException.class, () -> new LanePool<>(0, FakeLane::new));
    }
}
