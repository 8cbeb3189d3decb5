package dev.mnv3.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.cuda.exec.KernelLaunchers;
import dev.mnv3.cuda.ffi.KernelArgs;
import dev.mnv3.cuda.plan.LaunchGeometry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The CUDA kernels of native/ on the CPU emulation, called through FFM: a
 * {@link KernelLaunchers.Launcher} for the real launchers, whose launches run at once, on the
 * calling thread's behalf, over host memory ({@link HostArrays}). The library is
 * native/emulation/emulated_kernels.cpp, built by the ctest fixture of the java/cuda build, which
 * passes its path as {@value #PROPERTY}. Each launch's arguments are checked against the kernel's C
 * parameter types before it runs, so a mismatched launch fails with a message instead of having a
 * kernel read through a garbage pointer.
 */
@SuppressWarnings("restricted") // binding the emulated kernels' library is this class's purpose
final class EmulatedKernels implements KernelLaunchers.Launcher {
    static final String PROPERTY = "mnv3.emulatedKernels";
    private static final int ERROR_BYTES = 1024;
    private static EmulatedKernels loaded;

    private final MethodHandle launch;
    private final MethodHandle signature;
    private final List<String> names;

    private EmulatedKernels(Path library) {
        Linker linker = Linker.nativeLinker();
        SymbolLookup lib = SymbolLookup.libraryLookup(library, Arena.global());
        launch = linker.downcallHandle(lib.findOrThrow("mnv3_emu_launch"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        signature = linker.downcallHandle(lib.findOrThrow("mnv3_emu_signature"), FunctionDescriptor.of(ADDRESS, ADDRESS));
        MethodHandle kernelNames = linker.downcallHandle(lib.findOrThrow("mnv3_emu_kernel_names"),
                FunctionDescriptor.of(ADDRESS));
        try {
            names = List.of(string((MemorySegment) kernelNames.invokeExact()).split("\n"));
        } catch (Throwable t) {
            throw new IllegalStateException("mnv3_emu_kernel_names failed", t);
        }
    }

    /** The library, loaded once per JVM; call only when {@link #unavailableReason()} is empty. */
    static synchronized EmulatedKernels get() {
        if (loaded == null) loaded = new EmulatedKernels(Path.of(System.getProperty(PROPERTY)));
        return loaded;
    }

    /**
     * Why the library cannot run here (not configured, not built, or older than a source under
     * native/: the ctest run that rebuilds it was skipped), or empty when it can.
     */
    static Optional<String> unavailableReason() {
        String property = System.getProperty(PROPERTY);
        if (property == null || property.isBlank()) {
            return Optional.of("-D" + PROPERTY + " is not set: run through Maven (java/cuda's pom sets it) or name the library");
        }
        Path library = Path.of(property), note = Path.of(property + ".missing");
        try {
            if (!Files.exists(library)) {
                return Optional.of(Files.exists(note) ? Files.readString(note).strip()
                        : library + " is not built: ctest, whose fixture builds it, did not run (-Dmnv3.ctest or -Dmnv3.cmake?)");
            }
            Optional<Path> newer = newestSource().filter(p -> modified(p) > modified(library));
            return newer.map(p -> library + " is older than " + p + ": ctest, whose fixture rebuilds it, did not run");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Optional<Path> newestSource() throws IOException {
        Path dir = TorchReference.repositoryRoot().resolve("native");
        try (Stream<Path> files = Files.walk(dir, 2)) {
            return files.filter(p -> !p.startsWith(dir.resolve("test")) && p.toString().matches(".*\\.(cu|cuh|h|cpp)$"))
                    .max((a, b) -> Long.compare(modified(a), modified(b)));
        }
    }

    private static long modified(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every kernel in the library's table. */
    List<String> names() {
        return names;
    }

    /** The kernel's parameter types as {@link KernelArgs.Type} names them ("PTR PTR I32 ..."), or null for no such kernel. */
    String signature(String kernel) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = (MemorySegment) signature.invokeExact(a.allocateFrom(kernel));
            return s.equals(MemorySegment.NULL) ? null : string(s);
        } catch (Throwable t) {
            throw new IllegalStateException("mnv3_emu_signature failed", t);
        }
    }

    @Override
    public void launch(String kernel, LaunchGeometry.Launch g, MemorySegment stream, KernelArgs args, SegmentAllocator alloc) {
        String declared = signature(kernel);
        if (declared == null) throw new IllegalStateException(kernel + " is not among the emulated kernels");
        List<String> types = new ArrayList<>();
        for (int i = 0; i < args.count(); i++) types.add(args.type(i).name());
        String passed = String.join(" ", types);
        if (!declared.equals(passed)) {
            throw new IllegalStateException(kernel + " takes (" + declared + ") but the launch passes (" + passed + ")");
        }
        run(kernel, g, args, args.count()).ifPresent(message -> {
            throw new IllegalStateException(message);
        });
    }

    /**
     * mnv3_emu_launch itself: the library's one-line message when it refuses the launch or the
     * kernel breaks a CUDA rule, else empty. {@code count} is passed apart from {@code args} so that
     * the library's own check of it can be tested.
     */
    Optional<String> run(String kernel, LaunchGeometry.Launch g, KernelArgs args, int count) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment error = a.allocate(ERROR_BYTES);
            int rc = (int) launch.invokeExact(a.allocateFrom(kernel), g.gridX(), g.gridY(), g.gridZ(), g.blockX(), g.blockY(),
                    g.sharedBytes(), args.pack(a), count, error, (long) ERROR_BYTES);
            return rc == 0 ? Optional.empty() : Optional.of(error.getString(0));
        } catch (Throwable t) {
            throw new IllegalStateException("mnv3_emu_launch failed", t);
        }
    }

    private static String string(MemorySegment nulTerminated) {
        return nulTerminated.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
