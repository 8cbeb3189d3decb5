package dev.mnv3.cuda.exec;

import dev.mnv3.cuda.ffi.Cleanup;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.LaunchGeometry;
import dev.mnv3.cuda.plan.PreprocessTaps;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The device and pinned host memory of one plan: every {@link ForwardPlan.Buffer} and the cuDNN
 * workspace in one allocation (256-byte aligned), pinned buffers for the caller's input and the
 * logits, and an images plan's preprocessing taps (uploaded once). Allocated once per plan, so a
 * run allocates nothing.
 */
final class PlanMemory implements AutoCloseable {
    private static final long ALIGN = 256;

    private final CudaDriver driver;
    private final Map<ForwardPlan.Buffer, Long> buffers = new EnumMap<>(ForwardPlan.Buffer.class);
    private long memory, workspace, taps;
    final long workspaceBytes, givenBytes, logitsBytes;
    MemorySegment pinnedInput, pinnedLogits;
    /** The preprocessing taps of an images plan, else null. */
    final PreprocessTaps preprocessTaps;

    /**
     * Room for every buffer {@code plans} use (they are plans of one shape: the sizes of each buffer
     * merged); the taps are uploaded on the lane's {@code stream}, which is not capturing now.
     */
    PlanMemory(CudaDriver driver, MemorySegment stream, ForwardPlan plan, Map<ForwardPlan.Buffer, Long> sizes,
               long workspaceBytes) {
        this.driver = driver;
        this.workspaceBytes = workspaceBytes;
        this.givenBytes = plan.given().elements() * plan.elementBytes(plan.given().buffer());
        this.logitsBytes = plan.logits().elements() * Float.BYTES;
        this.preprocessTaps = plan.inputSpec().images() ? PreprocessTaps.of(plan) : null;
        try {
            Map<ForwardPlan.Buffer, Long> offsets = new LinkedHashMap<>();
            long total = 0;
            for (Map.Entry<ForwardPlan.Buffer, Long> e : sizes.entrySet()) {
                offsets.put(e.getKey(), total);
                total += LaunchGeometry.ceilDiv(e.getValue() * plan.elementBytes(e.getKey()), ALIGN) * ALIGN;
            }
            long wsOffset = total;
            total += LaunchGeometry.ceilDiv(workspaceBytes, ALIGN) * ALIGN;
            memory = driver.memAlloc(Math.max(total, ALIGN));
            offsets.forEach((b, o) -> buffers.put(b, memory + o));
            workspace = workspaceBytes > 0 ? memory + wsOffset : 0;
            pinnedInput = driver.memAllocHost(givenBytes);
            if (preprocessTaps != null) {
                taps = driver.memAlloc(preprocessTaps.bytes());
                try (Arena staging = Arena.ofConfined()) {
                    driver.upload(taps, preprocessTaps.image(staging), preprocessTaps.bytes(), stream);
                }
            }
            pinnedLogits = driver.memAllocHost(logitsBytes);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The sizes of every buffer any of {@code plans} writes, merged (plans of one shape, different selections). */
    static Map<ForwardPlan.Buffer, Long> sizes(ForwardPlan... plans) {
        Map<ForwardPlan.Buffer, Long> s = new EnumMap<>(ForwardPlan.Buffer.class);
        for (ForwardPlan p : plans) p.sizes().forEach((b, n) -> s.merge(b, n, Math::max));
        return s;
    }

    /** Device address of {@code r}'s buffer. */
    long address(ForwardPlan.Ref r) {
        Long a = buffers.get(r.buffer());
        if (a == null) throw new IllegalStateException("buffer " + r.buffer() + " was not allocated for this plan");
        return a;
    }

    long workspace() {
        return workspace;
    }

    long taps() {
        return taps;
    }

    @Override
    public void close() {
        RuntimeException first = Cleanup.runAll(
                () -> { if (taps != 0) driver.memFree(taps); },
                () -> { if (memory != 0) driver.memFree(memory); },
                () -> { if (pinnedInput != null) driver.memFreeHost(pinnedInput); },
                () -> { if (pinnedLogits != null) driver.memFreeHost(pinnedLogits); });
        taps = memory = workspace = 0;
        pinnedInput = pinnedLogits = null;
        buffers.clear();
        if (first != null) throw first;
    }
}
