package dev.mnv3.core.backend;

import java.util.Locale;

/**
 * How the fast CPU backend runs a model (other backends ignore it): a plain value, read from no
 * JVM state ({@link CompileOptions#fromSystemProperties()} reads {@code -Dmnv3.cpu.scalar},
 * {@code .stack} and {@code .warmStart} for the CLI). The vector width is not here: C2 compiles
 * the Vector API well only for a species that is a constant, so the width is one per JVM
 * ({@code -Dmnv3.cpu.vectorBits=128|256|512}, default the widest the JVM compiles here).
 *
 * @param scalar    plain loops instead of the Vector API (for diagnosis and machines without it)
 * @param stack     at most this many images of a batch run their late layers together, a group on
 *                  one thread: 1 runs each image alone; 0 means the default, {@value #DEFAULT_STACK}
 * @param warmStart run plain loops until C2 has compiled the vector kernels: a fresh JVM's first
 *                  run is then not slowed down by the Vector API's uncompiled form, at a cost in
 *                  throughput over its first seconds on a machine with few cores
 *                  (benchmarks/RESULTS.md, issue 32)
 */
public record CpuSettings(boolean scalar, int stack, boolean warmStart) implements java.io.Serializable {
    public static final String SCALAR_PROPERTY = "mnv3.cpu.scalar", STACK_PROPERTY = "mnv3.cpu.stack",
            WARM_START_PROPERTY = "mnv3.cpu.warmStart";
    public static final int DEFAULT_STACK = 4, MAX_STACK = 64;

    public CpuSettings {
        if (stack < 0 || stack > MAX_STACK) {
            throw new IllegalArgumentException("CpuSettings.stack must be from 1 to " + MAX_STACK + " images (0: the default), got "
                    + stack);
        }
    }

    /** The Vector API kernels, the default stack, no warm start. */
    public static CpuSettings defaults() {
        return new CpuSettings(false, 0, false);
    }

    /** The defaults, changed by the properties that are set. */
    static CpuSettings fromProperties() {
        return new CpuSettings(Settings.booleanProperty(SCALAR_PROPERTY, false), Settings.intProperty(STACK_PROPERTY, 0),
                Settings.booleanProperty(WARM_START_PROPERTY, false));
    }

    /** {@code vector} or {@code scalar}: the CLI's {@code --cpu-kernels}. */
    public CpuSettings withKernels(String v) {
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "vector" -> withScalar(false);
            case "scalar" -> withScalar(true);
            default -> throw new IllegalArgumentException("CPU kernels are vector or scalar, got '" + v + "'");
        };
    }

    public CpuSettings withScalar(boolean on) {
        return new CpuSettings(on, stack, warmStart);
    }

    public CpuSettings withStack(int images) {
        return new CpuSettings(scalar, images, warmStart);
    }

    public CpuSettings withWarmStart(boolean on) {
        return new CpuSettings(scalar, stack, on);
    }

    public int resolvedStack() {
        return stack > 0 ? stack : DEFAULT_STACK;
    }
}
