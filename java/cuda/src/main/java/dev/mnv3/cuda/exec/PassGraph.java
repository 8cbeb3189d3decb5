package dev.mnv3.cuda.exec;

import dev.mnv3.cuda.ffi.CudaDriver;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

/**
 * One pass of a plan replayed as a CUDA graph from its second run on: the first runs eagerly (and
 * builds nothing lazily after), the second is captured, inside the runtime's {@link CaptureGate}.
 * If capture fails the pass keeps running eagerly, and the failure is logged ("CUDA graph capture
 * failed") and kept by the runtime ({@link CudaRuntime#captureFailures}), where tests look for it.
 */
final class PassGraph implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PassGraph.class.getName());

    private final CudaRuntime runtime;
    private final CudaDriver driver;
    private final MemorySegment stream;
    private final boolean enabled;
    private MemorySegment exec;
    private int eagerRuns;
    private boolean failed;

    PassGraph(CudaRuntime runtime, MemorySegment stream, boolean enabled) {
        this.runtime = runtime;
        this.driver = runtime.driver;
        this.stream = stream;
        this.enabled = enabled;
    }

    /** Runs {@code pass} on the stream: replayed from its graph once captured, else eagerly. */
    void run(Consumer<Arena> pass) {
        if (exec == null && !failed && eagerRuns > 0 && enabled) capture(pass);
        if (!replay()) {
            try (Arena args = Arena.ofConfined()) {
                pass.accept(args);
            }
            eagerRuns++;
        }
    }

    /** Launches the captured graph; false when there is none. */
    boolean replay() {
        if (exec == null) return false;
        driver.graphLaunch(exec, stream);
        return true;
    }

    private void capture(Consumer<Arena> pass) {
        try (Arena args = Arena.ofConfined()) {
            exec = runtime.captureGate.capture(() -> {
                driver.beginCapture(stream);
                try {
                    pass.accept(args);
                } catch (RuntimeException e) {
                    abandonCapture();
                    throw e;
                }
                MemorySegment g = driver.endCapture(stream);
                try {
                    return driver.instantiate(g);
                } finally {
                    driver.graphDestroy(g);
                }
            });
        } catch (RuntimeException e) {
            failed = true;
            String why = "CUDA graph capture failed, running without graphs: " + e.getMessage();
            runtime.captureFailed(why);
            LOG.log(System.Logger.Level.WARNING, why);
        }
    }

    private void abandonCapture() {
        try {
            MemorySegment g = driver.endCapture(stream);
            if (!g.equals(MemorySegment.NULL)) driver.graphDestroy(g);
        } catch (RuntimeException ignored) {
            // the capture was already invalidated; ending it is all that was needed
        }
    }

    @Override
    public void close() {
        if (exec != null) {
            MemorySegment e = exec;
            exec = null;
            driver.graphExecDestroy(e);
        }
    }
}
