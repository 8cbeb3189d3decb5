package dev.mnv3.cpu.fast;

/**
 * Whether the incubating Vector API is loaded (the JVM needs --add-modules jdk.incubator.vector;
 * the ./mnv3 launcher passes it). Checked without touching its classes, so that the scalar
 * fallback works where the module is absent.
 */
final class VectorSupport {
    static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !Boolean.getBoolean("mnv3.cpu.scalar");

    private VectorSupport() {
    }
}
