package dev.mnv3.core.backend;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Where {@link CompiledModel#runAsync} runs a call: a virtual thread each, so that waiting for a
 * backend costs no platform thread (the CUDA backend hands its GPU work to a platform thread of
 * its own, where the CUDA context lives).
 */
final class AsyncRuns {
    static final ExecutorService EXECUTOR = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("mnv3-async-", 0)
            .factory());

    private AsyncRuns() {
    }
}
