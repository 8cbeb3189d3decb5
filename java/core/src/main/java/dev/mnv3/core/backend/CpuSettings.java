package dev.mnv3.core.backend;

import java.util.Locale;

/**
 * How the fast CPU backend runs (other backends ignore it). The defaults come from the documented
 * system properties {@code -Dmnv3.cpu.vectorBits}, {@code -Dmnv3.cpu.scalar} and
 * {@code -Dmnv3.cpu.stack} when they are set, so a deployment can pin them without code.
 *
 * @param vectorBits the Vector API width its kernels use: 128, 256 or 512, or 0 for the widest
 *                   the JVM compiles to vector instructions here
 * @param scalar     plain loops instead of the Vector API (for diagnosis and machines without it)
 * @param stack      images run through the network together per worker; 0 means the default
 */
public record CpuSettings(int vectorBits, boolean scalar, int stack) implements java.io.Serializable {
    public static final String VECTOR_BITS_PROPERTY = "mnv3.cpu.vectorBits", SCALAR_PROPERTY = "mnv3.cpu.scalar",
            STACK_PROPERTY = "mnv3.cpu.stack";
    /** Images per stack when {@link #stack} is 0. */
    public static final int DEFAULT_STACK = 4;
    public static final int MAX_STACK = 64;

    public CpuSettings {
        if (vectorBits != 0 && vectorBits != 128 && vectorBits != 256 && vectorBits != 512) {
            throw new IllegalArgumentException("the CPU vector width must be 128, 256 or 512 bits (or 0: the widest here), got "
                    + vectorBits);
        }
        if (stack < 0 || stack > MAX_STACK) {
            throw new IllegalArgumentException("the CPU stack must be from 1 to " + MAX_STACK + " images (0: the default), got " + stack);
        }
    }

    /** The widest vectors, the default stack, unless the properties say otherwise. */
    public static CpuSettings fromProperties() {
        return new CpuSettings(Settings.intProperty(VECTOR_BITS_PROPERTY, 0), Settings.booleanProperty(SCALAR_PROPERTY, false),
                Settings.intProperty(STACK_PROPERTY, 0));
    }

    /** {@code auto}, {@code scalar}, or a width in bits (128, 256, 512): the CLI's {@code --cpu-kernels}. */
    public static CpuSettings parseKernels(String v, CpuSettings base) {
        String s = v.trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "auto" -> new CpuSettings(0, false, base.stack);
            case "scalar" -> new CpuSettings(0, true, base.stack);
            case "128", "256", "512" -> new CpuSettings(Integer.parseInt(s), false, base.stack);
            default -> throw new IllegalArgumentException("CPU kernels are auto, scalar, 128, 256 or 512, got '" + v + "'");
        };
    }

    public int resolvedStack() {
        return stack > 0 ? stack : DEFAULT_STACK;
    }
}
