package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CudaSettings;
import dev.mnv3.core.backend.CudnnMode;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.DeviceTensor;
import dev.mnv3.core.tensor.HostTensor;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cuda.exec.CudaRuntime;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * CUDA graph capture against the driver's rules, which {@link FakeCuda} enforces
 * ({@link FakeCaptures}): first the rules themselves, then the backend. While lanes hold their
 * captures open, other threads build raw-image plans of new sizes (allocations, pinned memory,
 * the preprocessing taps' upload, kernel timing), evict plans, create lanes (streams, cuDNN
 * handles), copy device tensors in and out, and compile another model (its weights' upload):
 * every capture must survive and every pass then replay its graph. A model's close, whose
 * cudnnDestroy waits for the whole device, must wait for the captures in flight.
 */
class CaptureSafetyTest {
    private static final long WAIT_SECONDS = 60;
    private final FakeCuda.State state = new FakeCuda.State();
    private final Graph graph = Graph.of(MobileNetV3Config.small());
    private final Weights weights = RandomWeights.generate(graph, 3);

    private static MethodHandle raw(String name, ValueLayout... args) {
        return Linker.nativeLinker().downcallHandle(FakeCuda.LOOKUP.find(name).orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, args));
    }

    private static final MethodHandle CREATE = raw("cuStreamCreate", ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            BEGIN = raw("cuStreamBeginCapture_v2", ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            END = raw("cuStreamEndCapture", ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            CTX_SYNC = raw("cuCtxSynchronize"),
            ALLOC = raw("cuMemAlloc_v2", ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
            COPY = raw("cuMemcpyHtoD_v2", ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);

    /** A raw driver call. */
    private interface Raw {
        int call() throws Throwable;
    }

    /**
     * Begins a capture in {@code mode} on a new stream with {@code flags}, makes {@code other} on
     * another thread, then ends the capture: {other's result, cuStreamEndCapture's}.
     */
    private int[] duringCapture(CudaRuntime rt, int flags, int mode, Raw other) throws Throwable {
        try (Arena a = Arena.ofConfined(); ExecutorService elsewhere = Executors.newSingleThreadExecutor()) {
            rt.makeCurrent();
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            assertEquals(0, (int) CREATE.invokeExact(out, flags));
            MemorySegment stream = out.get(ValueLayout.ADDRESS, 0);
            assertEquals(0, (int) BEGIN.invokeExact(stream, mode));
            int result = elsewhere.submit(() -> {
                rt.makeCurrent();
                try {
                    return other.call();
                } catch (Throwable t) {
                    throw new IllegalStateException(t);
                }
            }).get(WAIT_SECONDS, TimeUnit.SECONDS);
            int end = (int) END.invokeExact(stream, out);
            if (end == 0) rt.driver.graphDestroy(out.get(ValueLayout.ADDRESS, 0));
            rt.driver.streamDestroy(stream);
            return new int[] {result, end};
        }
    }

    @Test
    void theFakeDriverBreaksCapturesAsTheDriverDoes() throws Throwable {
        CudaRuntime rt = FakeCuda.runtime(state);
        int blocking = 0, nonBlocking = FakeCaptures.NON_BLOCKING;
        long[] p = new long[1];
        Raw alloc = () -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment out = a.allocate(ValueLayout.JAVA_LONG);
                int rc = (int) ALLOC.invokeExact(out, 64L);
                if (rc == 0) p[0] = out.get(ValueLayout.JAVA_LONG, 0);
                return rc;
            }
        };
        Raw ctxSync = () -> (int) CTX_SYNC.invokeExact();
        Raw legacyCopy = () -> {
            try (Arena a = Arena.ofConfined()) {
                return (int) COPY.invokeExact(p[0], a.allocate(64), 64L);
            }
        };
        // another thread allocates: only a global-mode capture forbids it
        assertEquals(List.of(900, 901), box(duringCapture(rt, nonBlocking, FakeCaptures.GLOBAL, alloc)));
        assertEquals(List.of(0, 0), box(duringCapture(rt, nonBlocking, FakeCaptures.THREAD_LOCAL, alloc)));
        // a context-wide wait breaks every capture, whatever its mode
        assertEquals(List.of(900, 901), box(duringCapture(rt, nonBlocking, FakeCaptures.THREAD_LOCAL, ctxSync)));
        // the legacy stream: only a blocking stream's capture depends on it
        assertEquals(List.of(906, 901), box(duringCapture(rt, blocking, FakeCaptures.THREAD_LOCAL, legacyCopy)));
        assertEquals(List.of(0, 0), box(duringCapture(rt, nonBlocking, FakeCaptures.THREAD_LOCAL, legacyCopy)));
        assertEquals(3, state.capture.invalidations.size(), state.capture.invalidations.toString());
        assertTrue(state.capture.invalidations.get(1).startsWith("cuCtxSynchronize on thread "), state.capture.invalidations.get(1));
        rt.driver.memFree(p[0]);
    }

    private static List<Integer> box(int[] a) {
        return List.of(a[0], a[1]);
    }

    /**
     * Holds the first {@code n} captures open, inside cuStreamEndCapture, until {@code release}:
     * {@code open} counts them in.
     */
    private void holdCaptures(int n, CountDownLatch open, CountDownLatch release) {
        AtomicInteger slots = new AtomicInteger();
        state.capture.beforeEnd = () -> {
            if (slots.getAndIncrement() >= n) return;
            open.countDown();
            try {
                release.await(WAIT_SECONDS, TimeUnit.SECONDS); // never throw here: this runs inside the driver's upcall
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    private CudaModel model(CudaRuntime rt, Precision precision, int streams) {
        return new CudaModel(rt, graph, weights, precision, CudaSettings.defaults().withStreams(streams));
    }

    @Test
    void newPlansLanesUploadsAndEvictionLeaveOtherLanesCapturesIntact() throws Exception {
        CudaRuntime rt = FakeCuda.runtime(state);
        CountDownLatch open = new CountDownLatch(3), release = new CountDownLatch(1);
        try (CudaModel shared = model(rt, Precision.FP16, 4); CudaModel fp32 = model(rt, Precision.FP32, 1);
             CudaModel drv = new CudaModel(rt, graph, weights, Precision.BF16, true, CudnnMode.OFF);
             ExecutorService pool = Executors.newCachedThreadPool()) {
            List<CudaModel> capturing = List.of(shared, fp32, drv);
            List<Tensor> inputs = List.of(RandomWeights.input(2, 64, 64, 1), RandomWeights.input(1, 96, 64, 2),
                    RandomWeights.input(3, 64, 96, 3));
            holdCaptures(3, open, release);
            List<Future<?>> held = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                CudaModel m = capturing.get(i);
                Tensor x = inputs.get(i);
                held.add(pool.submit(() -> {
                    m.run(x); // eager
                    return m.run(x); // captured, held open
                }));
            }
            List<Future<?>> others = List.of();
            try {
                assertTrue(open.await(WAIT_SECONDS, TimeUnit.SECONDS), "three lanes began their captures");
                others = disturb(pool, rt, shared);
                for (Future<?> f : others) f.get(WAIT_SECONDS, TimeUnit.SECONDS);
            } finally {
                release.countDown();
            }
            for (Future<?> f : held) f.get(WAIT_SECONDS, TimeUnit.SECONDS);
            ((CudaModel) others.get(2).get()).close();

            assertEquals(List.of(), state.violations, "every call valid, no capture invalidated");
            assertEquals(List.of(), rt.captureFailures());
            long launches = state.graphLaunches.get();
            fp32.run(inputs.get(1));
            drv.run(inputs.get(2));
            assertEquals(launches + 2, state.graphLaunches.get(), "the held captures became graphs that replay");
        }
        assertEquals(List.of(), state.violations);
        assertEquals(List.of(), state.leaks());
        assertTrue(state.captures.get() >= 3 + 5 + 1, state.captures + " captures");
    }

    /**
     * While lanes hold their captures open: raw-image plans of new sizes (five: the eldest is
     * evicted), and device tensors in and out with pinned host memory, each on a new lane of
     * {@code shared}; another model compiled (its weights uploaded) and run on a lane of its own
     * (its first capture). That model is closed after the release: its cudnnDestroy waits for the
     * captures in flight, and while it waits no capture may begin.
     */
    private List<Future<?>> disturb(ExecutorService pool, CudaRuntime rt, CudaModel shared) {
        Preprocessing pre = new Preprocessing(72, 64);
        return List.of(
                pool.submit(() -> {
                    for (int s = 0; s < 5; s++) {
                        Tensor images = HostIoTest.images(1, 70 + 9 * s, 90 - 5 * s, s);
                        shared.runImages(images, pre);
                        shared.runImages(images, pre);
                    }
                    return null;
                }),
                pool.submit(() -> {
                    for (int i = 0; i < 3; i++) {
                        try (DeviceTensor in = shared.allocate(DType.F32, 1, 3, 64, 64);
                             DeviceTensor logits = shared.allocate(DType.F32, 1, graph.numClasses());
                             HostTensor pinned = shared.allocateHost(DType.F32, 1, 3, 64, 64)) {
                            in.copyFrom(RandomWeights.input(1, 64, 64, 10 + i));
                            shared.run(in, logits);
                            assertEquals(graph.numClasses(), logits.toHost().shape()[1]);
                            shared.run(pinned.tensor());
                        }
                    }
                    return null;
                }),
                pool.submit(() -> {
                    CudaModel late = model(rt, Precision.TF32, 2);
                    Tensor x = RandomWeights.input(1, 64, 64, 20);
                    for (int i = 0; i < 3; i++) late.run(x);
                    return late;
                }));
    }

    @Test
    void closingAModelWaitsForTheCapturesInFlight() throws Exception {
        CudaRuntime rt = FakeCuda.runtime(state);
        CountDownLatch open = new CountDownLatch(1), release = new CountDownLatch(1);
        CudaModel closing = model(rt, Precision.FP16, 1);
        closing.run(RandomWeights.input(1, 64, 64, 1)); // a lane, with its cuDNN handle
        try (CudaModel capturing = model(rt, Precision.FP16, 1); ExecutorService pool = Executors.newCachedThreadPool()) {
            Tensor x = RandomWeights.input(2, 64, 64, 2);
            capturing.run(x);
            holdCaptures(1, open, release);
            Future<?> held = pool.submit(() -> capturing.run(x));
            assertTrue(open.await(WAIT_SECONDS, TimeUnit.SECONDS));
            Thread[] closer = new Thread[1];
            Future<?> closed = pool.submit(() -> {
                closer[0] = Thread.currentThread();
                closing.close();
                return null;
            });
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
                while ((closer[0] == null || closer[0].getState() != Thread.State.WAITING) && !closed.isDone()
                        && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertTrue(!closed.isDone(), "close went ahead while a capture was in flight: " + state.violations);
            } finally {
                release.countDown();
            }
            held.get(WAIT_SECONDS, TimeUnit.SECONDS);
            closed.get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(List.of(), state.violations);
            assertEquals(List.of(), rt.captureFailures());
        }
        assertEquals(List.of(), state.leaks());
    }
}
