package dev.mnv3.core.backend;

import java.util.Locale;

/**
 * How the fast CPU backend runs a model (other backends ignore it). The defaults come from the
 * documented system properties {@code -Dmnv3.cpu.scalar} and {@code -Dmnv3.cpu.stack} when they
 * are set. The vector width is not here: C2 compiles the Vector API well only for a species that
 * is a constant, so the width is one per JVM ({@code -Dmnv3.cpu.vectorBits=128|256|512}, default
 * the widest the JVM compiles here).
 *
 * @param scalar plain loops instead of the Vector API (for diagnosis and machines without it)
 * @param stack  images of a batch whose late layers run together: 1 runs each image alone;
 *               0 means the default, {@value #DEFAULT_STACK}
 */
public record CpuSettings(boolean scalar, int stack) implements java.io.Serializable {
    public static final String SCALAR_PROPERTY = "mnv3.cpu.scalar", STACK_PROPERTY = "mnv3.cpu.stack",
            WARM_START_PROPERTY = "mnv3.cpu.warmStart";
    public static final int DEFAULT_STACK = 1, MAX_STACK = 64;

    public CpuSettings {
        if (stack < 0 || stack > MAX_STACK) {
            throw new IllegalArgumentException("the CPU stack must be from 1 to " + MAX_STACK + " images (0: the default), got "
                    + stack);
        }
    }

    /** The Vector API kernels and the default stack, unless the properties say otherwise. */
    public static CpuSettings fromProperties() {
        return new CpuSettings(Settings.booleanProperty(SCALAR_PROPERTY, false), Settings.intProperty(STACK_PROPERTY, 0));
    }

    /** {@code vector} or {@code scalar}: the CLI's {@code --cpu-kernels}. */
    public CpuSettings withKernels(String v) {
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "vector" -> new CpuSettings(false, stack);
            case "scalar" -> new CpuSettings(true, stack);
            default -> throw new IllegalArgumentException("CPU kernels are vector or scalar, got '" + v + "'");
        };
    }

    /**
     * Whether a compiled model runs plain loops until C2 has compiled the vector kernels
     * ({@code -Dmnv3.cpu.warmStart=true}; default false): a fresh JVM's first run is then not slowed
     * down by the Vector API's uncompiled form, at a cost in throughput over its first seconds on
     * a machine with few cores (benchmarks/RESULTS.md, issue 32).
     */
    public static boolean warmStart() {
        return Settings.booleanProperty(WARM_START_PROPERTY, false);
    }

    public int resolvedStack() {
        return stack > 0 ? stack : DEFAULT_STACK;
    }
}
