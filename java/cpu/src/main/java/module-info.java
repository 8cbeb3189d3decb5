/**
 * The CPU backends: {@code cpu} (vector kernels, {@code dev.mnv3.cpu.fast}, not exported) and
 * {@code cpu-reference}. The vector kernels need {@code --add-modules jdk.incubator.vector}; without
 * it the same backend runs plain loops.
 */
module dev.mnv3.cpu {
    requires transitive dev.mnv3.core;
    requires static jdk.incubator.vector;
    requires java.management;

    exports dev.mnv3.cpu;

    provides dev.mnv3.core.backend.Backend with dev.mnv3.cpu.fast.FastBackend, dev.mnv3.cpu.ReferenceBackend;
}
