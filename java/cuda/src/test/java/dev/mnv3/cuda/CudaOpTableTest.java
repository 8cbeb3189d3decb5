package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import dev.mnv3.cuda.CudaCases.Case;
import dev.mnv3.cuda.exec.KernelLaunchers;
import dev.mnv3.cuda.ffi.KernelArgs;
import dev.mnv3.cuda.plan.LaunchGeometry;
import dev.mnv3.cuda.plan.StorageType;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CUDA kernels' column of the op table (issue 18; the CPU's is {@code OpTableTest}, whose
 * case list this one runs too): every op the CUDA backend runs x every precision it runs it at x
 * shapes where tiles and tails meet, on the real native/*.cu kernels compiled for the CPU
 * emulation ({@link EmulatedKernels}), launched through the real {@link KernelLaunchers} the way
 * the executor launches them ({@link CudaColumn}), and compared with the reference backend's ops
 * ({@link CudaCases}) by relative L2: at most {@link #tolerance} (1e-5 at FP32, four units in the
 * last place of the TF32, FP16 or BF16 rounding), or bit for bit for the conversions and the
 * preprocessing. Each case is guarded: another input must move the output far past the tolerance,
 * so the comparison can fail.
 *
 * <p>Skipped, with the reason, where the library of emulated kernels is not built (no C++
 * compiler or CUDA headers, or ctest skipped); {@link #everyKernelTheLaunchersNameHasARow} runs
 * everywhere. The emulator runs each CUDA thread as a thread of its own, so shapes stay small.
 */
class CudaOpTableTest {
    /** A small GPU: grid-stride kernels get 32 blocks at most and loop, as on a GPU with large inputs. */
    static final int MULTIPROCESSORS = 1;
    /** The guard's input: the case's input plus Gaussian noise of the input's own scale. */
    private static final double GUARD_NOISE = 1.0;
    /** The guard input must move the output by this many tolerances (for the exact cases, FP32's) at least. */
    private static final double GUARD_FACTOR = 5;

    static Stream<Arguments> table() {
        List<Arguments> rows = new ArrayList<>();
        for (Case c : CudaCases.all()) {
            for (Precision p : CudaColumn.precisions(c)) rows.add(Arguments.of(Named.of(c + " at " + p, c), p));
        }
        return rows.stream();
    }

    /**
     * The relative-L2 tolerance of one op at {@code p}: FP32's 1e-5, as on the CPU; for the others
     * four units in the last place of the rounding the op undergoes (TF32 operands and FP16: 2^-11,
     * BF16: 2^-8), where the worst case measured is one unit (FP16 5.0e-4, BF16 3.9e-3, TF32 3.2e-4).
     * {@link Precision#tolerance()} is for a node deep in the network, after about 25x
     * amplification: 5 to 26 times these, it would let an op be far off, and another input moves an
     * op with a hard-sigmoid output by only about 4 times it (BF16: 0.30 against 0.08), so it could
     * not be guarded.
     */
    static double tolerance(Precision p) {
        return switch (p) {
            case FP32 -> p.tolerance();
            case TF32, FP16 -> 4 * 0x1p-11;
            case BF16 -> 4 * 0x1p-8;
        };
    }

    /**
     * The case's input and, stacked behind it on the leading dimension, the guard's (the same plus
     * noise) go through the kernels in one run: the first half must match the reference, the second
     * must be far from it.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void matchesTheReference(Case c, Precision p) {
        Optional<String> unavailable = EmulatedKernels.unavailableReason();
        assumeTrue(unavailable.isEmpty(), () -> unavailable.orElseThrow());
        KernelLaunchers kernels = new KernelLaunchers(EmulatedKernels.get(), MULTIPROCESSORS);
        SplittableRandom rnd = new SplittableRandom(c.toString().hashCode());
        Tensor x = c.input(rnd), moved = c.moved(x, rnd, GUARD_NOISE), want = c.reference(x, p);
        assertTrue(norm(want) > 1e-3, c + ": the reference output is all but zero, the comparison would prove nothing");
        Tensor both;
        try (HostArrays m = new HostArrays(); Arena args = Arena.ofConfined()) {
            both = new CudaColumn(kernels, m, args, p).run(c, CudaCases.stack(x, moved));
        }
        Tensor got = both.slice(0, x.dim(0)), gotMoved = both.slice(x.dim(0), both.dim(0));
        double tolerance = tolerance(p);
        if (c.exact()) {
            assertBitForBit(got, want, c + " at " + p);
        } else {
            TensorDiff d = TensorDiff.of(got, want);
            assertTrue(d.within(tolerance), c + " at " + p + ": relative L2 " + d.relL2() + " > " + tolerance);
        }
        double guard = TensorDiff.of(gotMoved, want).relL2();
        double needed = GUARD_FACTOR * (c.exact() ? tolerance(Precision.FP32) : tolerance);
        assertTrue(guard > needed, c + " at " + p + ": another input moved the output by only " + guard + " (needed " + needed
                + "), so the comparison could not fail");
    }

    /**
     * Every kernel the launchers can name is launched by some row of the table, so a new kernel
     * needs a row. Pure Java: the launches are recorded, not run.
     */
    @Test
    void everyKernelTheLaunchersNameHasARow() {
        TreeSet<String> launched = new TreeSet<>();
        KernelLaunchers recorder = new KernelLaunchers((kernel, g, stream, args, alloc) -> launched.add(kernel), MULTIPROCESSORS);
        for (Case c : CudaCases.all()) {
            for (Precision p : CudaColumn.precisions(c)) {
                try (HostArrays m = new HostArrays(); Arena args = Arena.ofConfined()) {
                    new CudaColumn(recorder, m, args, p).run(c, c.input(new SplittableRandom(1)));
                }
            }
        }
        assertEquals(new TreeSet<>(knownKernels()), launched);
    }

    /**
     * The library's table holds exactly the kernels the launchers name, each taking the
     * parameter types its launcher passes (the library compares them from the C++ types, with no
     * nvcc: NativeContractTest does the same from nvcc's preprocessed sources where nvcc exists).
     */
    @Test
    void theLibraryHoldsEveryKernelTheLaunchersNameWithItsSignature() {
        Optional<String> unavailable = EmulatedKernels.unavailableReason();
        assumeTrue(unavailable.isEmpty(), () -> unavailable.orElseThrow());
        EmulatedKernels emulator = EmulatedKernels.get();
        assertEquals(new TreeSet<>(knownKernels()), new TreeSet<>(emulator.names()), "emulated_kernels.cpp's table");
        Map<String, String> passed = new TreeMap<>();
        KernelLaunchers recorder = new KernelLaunchers((kernel, g, stream, args, alloc) -> {
            List<String> types = new ArrayList<>();
            for (int i = 0; i < args.count(); i++) types.add(args.type(i).name());
            passed.put(kernel, String.join(" ", types));
        }, MULTIPROCESSORS);
        try (Arena a = Arena.ofConfined()) {
            NativeContractTest.launchEveryKernel(recorder, a);
        }
        for (Map.Entry<String, String> e : passed.entrySet()) {
            assertEquals(emulator.signature(e.getKey()), e.getValue(), e.getKey());
        }
    }

    /** A launch the library cannot run is refused with a one-line message, and the JVM goes on. */
    @Test
    void badLaunchesFailWithAMessage() {
        Optional<String> unavailable = EmulatedKernels.unavailableReason();
        assumeTrue(unavailable.isEmpty(), () -> unavailable.orElseThrow());
        EmulatedKernels emulator = EmulatedKernels.get();
        LaunchGeometry.Launch one = new LaunchGeometry.Launch(1, 1, 32, 0);
        try (HostArrays m = new HostArrays()) {
            KernelArgs scale = new KernelArgs().ptr(m.poisoned(64)).ptr(m.upload(new float[2])).i32(32).i64(64);
            assertEquals(Optional.empty(), emulator.run("mnv3_channel_scale", one, scale, 4));
            assertEquals(Optional.of("no kernel named mnv3_nothing"), emulator.run("mnv3_nothing", one, scale, 4));
            assertEquals(Optional.of("mnv3_channel_scale takes 4 arguments, the launch passes 3"),
                    emulator.run("mnv3_channel_scale", one, scale, 3));
            assertEquals(Optional.of("mnv3_channel_scale: dynamic shared memory (16 bytes) is not emulated"),
                    emulator.run("mnv3_channel_scale", new LaunchGeometry.Launch(1, 1, 32, 16), scale, 4));
            assertEquals(Optional.of("mnv3_channel_scale: emu::launch: bad geometry"),
                    emulator.run("mnv3_channel_scale", new LaunchGeometry.Launch(1, 1, 2048, 0), scale, 4));
            KernelArgs swapped = new KernelArgs().ptr(m.poisoned(64)).ptr(m.upload(new float[2])).i64(32).i32(64);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> emulator.launch("mnv3_channel_scale", one, null, swapped, null));
            assertEquals("mnv3_channel_scale takes (PTR PTR I32 I64) but the launch passes (PTR PTR I64 I32)", e.getMessage());
        }
    }

    private static void assertBitForBit(Tensor got, Tensor want, String what) {
        float[] g = got.data(), w = want.data();
        assertEquals(w.length, g.length, what + ": sizes");
        for (int i = 0; i < w.length; i++) {
            if (Float.floatToIntBits(g[i]) != Float.floatToIntBits(w[i])) {
                throw new AssertionError(what + ": element " + i + " is " + g[i] + ", the reference's " + w[i]
                        + " (bit for bit)");
            }
        }
    }

    /** Every kernel name the launchers can produce. */
    private static List<String> knownKernels() {
        List<String> names = new ArrayList<>(KernelLaunchers.nchwNames());
        for (StorageType s : List.of(StorageType.F16, StorageType.BF16)) {
            for (String n : KernelLaunchers.nhwcNames(s)) {
                if (!names.contains(n)) names.add(n);
            }
        }
        return names;
    }

    private static double norm(Tensor t) {
        double s = 0;
        for (float v : t.data()) s += (double) v * v;
        return Math.sqrt(s);
    }
}
