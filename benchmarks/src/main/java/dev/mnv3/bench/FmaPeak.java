package dev.mnv3.bench;

import dev.mnv3.cpu.CpuInfo;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's peak fused multiply-add rate on one thread at one vector width, through the Vector
 * API: 12 independent accumulators (enough to cover the FMA latency on two pipes, and with the two
 * operands 14 registers, under AVX2's 16) and no memory traffic. {@code --bits 256|512} (default:
 * the JVM's preferred width); run it at 512 and 256 bits natively and at 256 with
 * {@code -XX:UseAVX=2} to see what C2's AVX2 code can reach against its AVX-512 code. Prints GFLOP/s
 * (2 per lane per FMA), the best of {@code --reps} (default 7) runs of {@code --iterations} (default
 * 50 million) steps, after 3 runs to warm up.
 */
public final class FmaPeak {
    private static int bits; // read once, by Kernel's initializer

    private FmaPeak() {
    }

    /** The width as a constant: C2 compiles a Vector API call to vector instructions only where the species is one. */
    private static final class Kernel {
        static final VectorSpecies<Float> S = bits == 512 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;

        static float run(int iterations) {
            FloatVector a = FloatVector.broadcast(S, 0.999999f), b = FloatVector.broadcast(S, 1e-7f);
            FloatVector c0 = FloatVector.broadcast(S, 0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,
                    c8 = c0, c9 = c0, c10 = c0, c11 = c0;
            for (int i = 0; i < iterations; i++) {
                c0 = c0.fma(a, b);
                c1 = c1.fma(a, b);
                c2 = c2.fma(a, b);
                c3 = c3.fma(a, b);
                c4 = c4.fma(a, b);
                c5 = c5.fma(a, b);
                c6 = c6.fma(a, b);
                c7 = c7.fma(a, b);
                c8 = c8.fma(a, b);
                c9 = c9.fma(a, b);
                c10 = c10.fma(a, b);
                c11 = c11.fma(a, b);
            }
            return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                    .reduceLanes(VectorOperators.ADD);
        }
    }

    public static void main(String[] args) {
        int iterations = 50_000_000, reps = 7;
        bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bits" -> bits = Integer.parseInt(value(args, ++i));
                case "--iterations" -> iterations = Integer.parseInt(value(args, ++i));
                case "--reps" -> reps = Integer.parseInt(value(args, ++i));
                default -> throw new IllegalArgumentException("unexpected argument " + args[i] + "; takes --bits 256|512 --iterations N --reps R");
            }
        }
        if (bits != 256 && bits != 512) throw new IllegalArgumentException("--bits takes 256 or 512, got " + bits);
        if (iterations < 1 || reps < 1) throw new IllegalArgumentException("--iterations and --reps must be positive");
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        if (bits > preferred) throw new IllegalArgumentException(bits + "-bit vectors exceed this JVM's " + preferred + " bits");
        double best = 0;
        for (int r = 0; r < reps + 3; r++) {
            long t = System.nanoTime();
            float sink = Kernel.run(iterations);
            double seconds = (System.nanoTime() - t) / 1e9;
            if (sink == 42) System.out.print(""); // keeps the result live
            if (r >= 3) best = Math.max(best, 12.0 * 2 * (bits / 32) * iterations / seconds / 1e9);
        }
        System.out.printf(Locale.ROOT, "CPU: %s; JVM's preferred vector %d bits%n%d-bit FMA, one thread: %.1f GFLOP/s%n",
                CpuInfo.here().describe(), preferred, bits, best);
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) throw new IllegalArgumentException(args[i - 1] + " needs a value");
        return args[i];
    }
}
