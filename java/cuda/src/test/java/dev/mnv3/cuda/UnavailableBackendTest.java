package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mnv3.core.Activation;
import dev.mnv3.core.BottleneckSpec;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.BackendUnavailableException;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.RandomWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import dev.mnv3.cuda.exec.CudaRuntime;
import dev.mnv3.cuda.ffi.LibraryLocator;
import dev.mnv3.cuda.ffi.NativeLibraries;

/** Without a GPU (CI, development machines) the backend must say so clearly and never crash. */
class UnavailableBackendTest {
    @TempDir
    Path root;

    @Test
    void isRegisteredAsCudaAndPreferredOverTheCpu() {
        Backend cuda = Backends.named("cuda");
        assertTrue(cuda instanceof CudaBackend);
        assertTrue(cuda.priority() > 0);
    }

    @Test
    void withoutAGpuCompileFailsWithTheReasonAndWhereItLooked() {
        String reason = new CudaBackend().unavailableReason();
        assumeTrue(reason != null, "this machine has a working GPU; the GPU tests cover it");
        assertTrue(reason.startsWith(CudaRuntime.PREFIX), reason);
        assertTrue(reason.contains("libcuda.so.1") || reason.contains("cuInit") || reason.contains("sees no GPU"), reason);
        Graph g = Graph.of(MobileNetV3Config.small());
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> new CudaBackend().compile(g, RandomWeights.generate(g, 1)));
        assertEquals(reason, e.getMessage());
        assertEquals(reason, new CudaBackend().unavailableReason(), "asking twice gives the same answer");
        assertNotEquals(CudaBackend.NAME, Backends.best().name(), "without a GPU the CPU backend is chosen");
    }

    @Test
    void aGraphTheHalfKernelsCannotRunIsRejectedBeforeLookingForAGpu() {
        BottleneckSpec wide = new BottleneckSpec(3, 8192, 16, true, Activation.RELU, 1, 1);
        Graph graph = Graph.of(MobileNetV3Config.custom("wide", 16, 128, List.of(wide)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CudaBackend().compile(graph,
                RandomWeights.generate(graph, 1), CompileOptions.defaults().withPrecision(Precision.FP16)));
        assertEquals("features.1.block.2 has 8192 channels squeezed to 2048; the FP16/BF16 path supports at most 4096 and "
                + "1024 (set CompileOptions.precision to FP32 or TF32)", e.getMessage());
    }

    @Test
    void aFileThatIsNotALibraryIsReportedNotLoaded() throws IOException {
        Path fake = Files.createDirectories(root.resolve("lib"));
        Files.writeString(fake.resolve("libcuda.so.1"), "not an ELF file");
        LibraryLocator locator = new LibraryLocator(new LibraryLocator.Environment(Map.of(),
                Map.of(LibraryLocator.DRIVER_DIR_PROPERTY, fake.toString()), List.of(), List.of()));
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> CudaRuntime.open(locator));
        String msg = e.getMessage();
        assertTrue(msg.startsWith(CudaRuntime.PREFIX), msg);
        assertTrue(msg.contains("found " + fake.resolve("libcuda.so.1") + " (-Dmnv3.cuda.libDir) but could not open it"), msg);
    }

    /**
     * Holds on any machine, GPU or not: the search runs on fake directories, and the loader's last
     * resort is asked for a library no machine has (it would find a real libcuda.so.1).
     */
    @Test
    void nothingFoundAnywhereListsThePlacesAndTheLoader() {
        LibraryLocator locator = new LibraryLocator(new LibraryLocator.Environment(Map.of("LD_LIBRARY_PATH", root.toString()),
                Map.of(), List.of(root.resolve("sys")), List.of()));
        LibraryLocator.Search search = locator.driver();
        assertTrue(search.location().isEmpty());
        String msg = search.notFoundMessage();
        assertTrue(msg.startsWith("libcuda.so.1 was not found; looked in:"), msg);
        assertTrue(msg.contains(root + " ($LD_LIBRARY_PATH)"), msg);
        assertTrue(msg.contains(root.resolve("sys") + " (system library directory)"), msg);
        LibraryLocator.Search absent = new LibraryLocator.Search("libmnv3-absent.so.1", Optional.empty(), search.looked());
        String e = assertThrows(BackendUnavailableException.class,
                () -> NativeLibraries.open(absent, "the NVIDIA driver library")).getMessage();
        assertTrue(e.startsWith("the NVIDIA driver library: libmnv3-absent.so.1 was not found; looked in:"), e);
        assertTrue(e.contains(root + " ($LD_LIBRARY_PATH)"), e);
        assertTrue(e.contains("the dynamic loader's default search"), e);
    }
}
