package dev.mnv3.cuda;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Stream capture as the CUDA driver enforces it, for {@link FakeCuda} (CUDA programming guide,
 * "Prohibited and Unhandled Operations" and "Invalidation"; driver API,
 * cuThreadExchangeStreamCaptureMode):
 * <ul>
 * <li>synchronizing a capturing stream, or anything that waits for the whole context
 *     (cuCtxSynchronize, cudnnDestroy's cudaDeviceSynchronize) while any stream of the context
 *     captures, in any mode: CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED (900);</li>
 * <li>the legacy stream (synchronous copies, stream 0) while a stream created without
 *     CU_STREAM_NON_BLOCKING captures: CUDA_ERROR_STREAM_CAPTURE_IMPLICIT (906);</li>
 * <li>potentially unsafe calls (allocations and frees, module loads) from the thread that
 *     captures (unless it began in relaxed mode), and from any thread while another thread's
 *     capture was begun in global mode (threads keep the default global interaction mode): 900.</li>
 * </ul>
 * Each such call invalidates the captures it conflicts with: later work enqueued on their streams
 * fails with CUDA_ERROR_STREAM_CAPTURE_INVALIDATED (901), and cuStreamEndCapture ends the capture
 * with 901 and no graph. cuStreamEndCapture from another thread than the one that began a
 * non-relaxed capture is CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD (908). Every invalidation is
 * recorded, and reported to {@code onInvalidation} (FakeCuda counts it as a violation).
 */
final class FakeCaptures {
    static final int GLOBAL = 0, THREAD_LOCAL = 1, RELAXED = 2;
    static final int NON_BLOCKING = 1;
    static final int UNSUPPORTED = 900, INVALIDATED = 901, IMPLICIT = 906, WRONG_THREAD = 908;

    private static final class Capture {
        final long stream, context;
        final int mode;
        final Thread thread;
        volatile String invalidatedBy;

        Capture(long stream, long context, int mode, Thread thread) {
            this.stream = stream;
            this.context = context;
            this.mode = mode;
            this.thread = thread;
        }

        @Override
        public String toString() {
            return "the capture of stream " + Long.toHexString(stream) + " (begun on thread " + thread.getName() + " in "
                    + (mode == GLOBAL ? "global" : mode == THREAD_LOCAL ? "thread-local" : "relaxed") + " mode)";
        }
    }

    private final Map<Long, Capture> byStream = new ConcurrentHashMap<>();
    private final Map<Long, Integer> flags = new ConcurrentHashMap<>();
    private final Map<Long, Long> contexts = new ConcurrentHashMap<>();
    private final Consumer<String> onInvalidation;
    /** What invalidated which capture, in order. */
    final List<String> invalidations = Collections.synchronizedList(new ArrayList<>());
    /** Runs inside cuStreamEndCapture before the capture ends: a test holds captures open with it. */
    volatile Runnable beforeEnd;

    FakeCaptures(Consumer<String> onInvalidation) {
        this.onInvalidation = onInvalidation;
    }

    void created(long stream, int streamFlags, long context) {
        flags.put(stream, streamFlags);
        contexts.put(stream, context);
    }

    boolean capturing(long stream) {
        return byStream.containsKey(stream);
    }

    static boolean legacyStream(long stream) {
        return stream == 0 || stream == 1; // NULL and CU_STREAM_LEGACY
    }

    /** cuStreamBeginCapture: 0, or 1 (CUDA_ERROR_INVALID_VALUE) on the legacy stream or one already capturing. */
    int begin(long stream, int mode) {
        if (legacyStream(stream)) return 1;
        Capture c = new Capture(stream, contexts.getOrDefault(stream, 0L), mode, Thread.currentThread());
        return byStream.putIfAbsent(stream, c) == null ? 0 : 1;
    }

    /** cuStreamEndCapture: 0 with a graph; 901 (ended, no graph) when invalidated; 908 from the wrong thread (still capturing). */
    int end(long stream) {
        Runnable hold = beforeEnd;
        if (hold != null) hold.run();
        Capture c = byStream.get(stream);
        if (c == null) return 1;
        if (c.mode != RELAXED && c.thread != Thread.currentThread()) return WRONG_THREAD;
        byStream.remove(stream);
        return c.invalidatedBy == null ? 0 : INVALIDATED;
    }

    /** Work enqueued on {@code stream} by {@code call}: 901 on an invalidated capture, the legacy stream's rule on stream 0. */
    int enqueue(long stream, long context, String call) {
        if (legacyStream(stream)) return legacy(call, context);
        Capture c = byStream.get(stream);
        return c != null && c.invalidatedBy != null ? INVALIDATED : 0;
    }

    /** cuStreamSynchronize: invalid on a capturing stream (which it invalidates), the legacy stream's rule on stream 0. */
    int synchronize(long stream, long context, String call) {
        if (legacyStream(stream)) return legacy(call, context);
        Capture c = byStream.get(stream);
        if (c == null) return 0;
        invalidate(c, call);
        return UNSUPPORTED;
    }

    /** A call that waits for the whole context. */
    int contextWide(String call, long context) {
        return invalidateAll(call, UNSUPPORTED, c -> c.context == context);
    }

    /** A call on the legacy stream, which every blocking stream's work is ordered with. */
    int legacy(String call, long context) {
        return invalidateAll(call, IMPLICIT, c -> c.context == context && (flags.getOrDefault(c.stream, 0) & NON_BLOCKING) == 0);
    }

    /** A potentially unsafe call (an allocation or free, a module load) by the current thread. */
    int unsafe(String call, long context) {
        Thread me = Thread.currentThread();
        return invalidateAll(call, UNSUPPORTED, c -> c.context == context
                && (c.thread == me ? c.mode != RELAXED : c.mode == GLOBAL));
    }

    private int invalidateAll(String call, int code, Predicate<Capture> conflicts) {
        int rc = 0;
        for (Capture c : byStream.values()) {
            if (conflicts.test(c)) {
                invalidate(c, call);
                rc = code;
            }
        }
        return rc;
    }

    private void invalidate(Capture c, String call) {
        if (c.invalidatedBy != null) return;
        c.invalidatedBy = call;
        String what = call + " on thread " + Thread.currentThread().getName() + " invalidated " + c;
        invalidations.add(what);
        onInvalidation.accept(what);
    }
}
