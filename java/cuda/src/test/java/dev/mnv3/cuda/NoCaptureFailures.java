package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mnv3.cuda.exec.CudaRuntime;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a GPU test in which a CUDA graph capture failed. The backend then runs that pass without
 * its graph, with the right results, so nothing else in the test would notice graphs silently
 * turned off; the failures are the runtime's ({@link CudaRuntime#captureFailures}).
 */
final class NoCaptureFailures implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(NoCaptureFailures.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put("before", failures().size());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        List<String> all = failures();
        int before = context.getStore(NS).get("before", Integer.class);
        assertEquals(List.of(), all.subList(Math.min(before, all.size()), all.size()), "CUDA graph captures failed in this test");
    }

    /** The default device's: the GPU tests run there. Empty where the backend cannot run (the test then fails or skips itself). */
    private static List<String> failures() {
        return CudaRuntime.unavailableReason() == null ? CudaRuntime.get().captureFailures() : List.of();
    }
}
