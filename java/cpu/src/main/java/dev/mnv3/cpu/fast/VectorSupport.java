package dev.mnv3.cpu.fast;

import java.lang.management.ManagementFactory;

/**
 * What this JVM offers the vector kernels, found without touching the incubating Vector API's
 * classes, so that the scalar fallback works where the module is absent (the JVM needs
 * --add-modules jdk.incubator.vector; the ./mnv3 launcher passes it).
 *
 * <p>The Vector API only pays when C2 compiles its calls to vector instructions; otherwise
 * (interpreter, C1 only, vector intrinsics switched off) every vector operation allocates an
 * object and runs a Java loop, many times slower than plain scalar code. {@link #compilerProblem}
 * says whether that is the case, so that the backend can pick plain loops instead.
 */
final class VectorSupport {
    /**
     * The system property that forces a vector width in bits (tests run every width): 128, 256 or
     * 512. One per JVM, not a compile option: C2 compiles the Vector API well only for a constant species.
     */
    static final String BITS_PROPERTY = "mnv3.cpu.vectorBits";

    /**
     * The system property that forces the GEMM tile height (4 or 6 rows), so that the tests run
     * both tiles on any machine and a benchmark can compare them; one per JVM, for the same reason.
     */
    static final String TILE_ROWS_PROPERTY = "mnv3.cpu.gemmRows";

    static final boolean MODULE_LOADED = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private VectorSupport() {
    }

    /** The width forced with -Dmnv3.cpu.vectorBits, or 0 for the JVM's preferred one. */
    static int requestedBits() {
        // one width per JVM, not per model: C2 compiles the Vector API well only for a constant species
        String v = System.getProperty(BITS_PROPERTY);
        if (v == null || v.isBlank()) return 0;
        return switch (v.strip()) {
            case "128" -> 128;
            case "256" -> 256;
            case "512" -> 512;
            default -> throw new IllegalArgumentException("-D" + BITS_PROPERTY + " must be 128, 256 or 512, got '" + v + "'");
        };
    }

    /**
     * The tile height forced with -Dmnv3.cpu.gemmRows, or else 4 where C2 has 16 vector registers
     * (x86 without AVX-512 in use: its preferred vector is under 512 bits, as with -XX:UseAVX=2)
     * and 6 where it has 32. preferredBits is the preferred species' width.
     */
    static int tileRows(int preferredBits) {
        String v = System.getProperty(TILE_ROWS_PROPERTY);
        if (v != null && !v.isBlank()) {
            return switch (v.strip()) {
                case "4" -> 4;
                case "6" -> 6;
                default -> throw new IllegalArgumentException("-D" + TILE_ROWS_PROPERTY + " must be 4 or 6, got '" + v + "'");
            };
        }
        String arch = System.getProperty("os.arch", "");
        boolean x86 = arch.equals("amd64") || arch.equals("x86_64");
        return x86 && preferredBits < 512 ? 4 : 6;
    }

    /**
     * Why C2 will not turn vector operations into vector instructions in this JVM, or null when it
     * will: no C2 at all (interpreter only, or compilation stopped at C1), or the intrinsics
     * switched off. Whether the chosen width fits the hardware is checked with the species.
     */
    static String compilerProblem() {
        String info = System.getProperty("java.vm.info", "");
        if (info.contains("interpreted mode")) return "the JVM runs interpreted only (-Xint)";
        if (info.contains("emulated-client")) return "the JVM stops at the C1 compiler (-XX:TieredStopAtLevel below 4)";
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.equals("-XX:-EnableVectorSupport") || arg.equals("-XX:-UseCompiler")) {
                return "the JVM was started with " + arg;
            }
        }
        return null;
    }
}
