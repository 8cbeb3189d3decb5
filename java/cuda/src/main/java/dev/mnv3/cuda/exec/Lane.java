package dev.mnv3.cuda.exec;

import dev.mnv3.core.graph.Graph;
import dev.mnv3.cuda.ffi.Cleanup;
import dev.mnv3.cuda.ffi.Cudnn;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

/** A stream, the cuDNN handle bound to it (null without cuDNN), and the plans built on them: one caller at a time. */
public final class Lane implements AutoCloseable {
    /** Plans kept per lane; the least recently used goes beyond this. */
    static final int MAX_PLANS = 4;

    final ModelResources shared;
    final MemorySegment stream, cudnn;
    private final Map<PlanKey, PlanExecutor> plans = new LinkedHashMap<>(8, 0.75f, true);

    public Lane(ModelResources shared) {
        this.shared = shared;
        CudaRuntime rt = shared.runtime();
        rt.makeCurrent();
        MemorySegment s = rt.driver.streamCreate(), h = null;
        Cudnn dnn = shared.cudnn() == null ? null : shared.cudnn().api();
        try {
            if (dnn != null) {
                h = dnn.create(); // allocations, which other lanes' thread-local captures allow (unlike cudnnDestroy)
                dnn.setStream(h, s);
            }
        } catch (RuntimeException e) {
            if (h != null) destroy(rt, dnn, h);
            rt.driver.streamDestroy(s);
            throw e;
        }
        stream = s;
        cudnn = h;
    }

    /**
     * The plan for a network input [batch, 3, height, width] given as the key's spec says, built
     * on first use; the least recently used goes past {@link #MAX_PLANS}.
     */
    public PlanExecutor plan(Graph graph, PlanKey key) {
        PlanExecutor p = plans.get(key);
        if (p == null) {
            if (plans.size() >= MAX_PLANS) {
                PlanKey eldest = plans.keySet().iterator().next();
                plans.remove(eldest).close();
            }
            p = PlanExecutor.build(this, graph, key);
            plans.put(key, p);
        }
        return p;
    }

    @Override
    public void close() {
        CudaRuntime rt = shared.runtime();
        RuntimeException first = Cleanup.runAll(
                rt::makeCurrent,
                () -> rt.driver.streamSynchronize(stream),
                () -> plans.values().forEach(PlanExecutor::close),
                () -> { if (cudnn != null) destroy(rt, shared.cudnn().api(), cudnn); },
                () -> rt.driver.streamDestroy(stream));
        plans.clear();
        if (first != null) throw first;
    }

    /** cudnnDestroy waits for the whole device: never while another lane captures a graph. */
    private static void destroy(CudaRuntime rt, Cudnn dnn, MemorySegment handle) {
        rt.captureGate.contextWide(() -> dnn.destroy(handle));
    }
}
