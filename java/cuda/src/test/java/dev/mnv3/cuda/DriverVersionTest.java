package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.backend.BackendUnavailableException;
import dev.mnv3.cuda.exec.CudaDevices;
import dev.mnv3.cuda.exec.CudaRuntime;
import dev.mnv3.cuda.exec.DriverVersion;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.ffi.Fatbin;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The driver is checked before our kernels are loaded: on {@link FakeCuda}, a driver older than
 * the CUDA the fatbin was built with is refused in one line naming both, and cuModuleLoadData is
 * never called; the report that {@code mnv3 info --devices} and the GPU check print first says
 * the driver, the CUDA version it supports, each card and its compute capability.
 */
class DriverVersionTest {
    private static final byte[] FATBIN = new byte[16];

    @TempDir
    Path dir;

    private final FakeCuda.State state = new FakeCuda.State();

    private CudaRuntime open(int driverCuda, String library) {
        state.driverVersion = driverCuda;
        FakeCuda.state = state;
        return CudaRuntime.open(() -> CudaDevices.Driver.initialize(new CudaDriver(FakeCuda.LOOKUP), library), FATBIN, 13000, null,
                0, () -> null);
    }

    @ParameterizedTest(name = "driver CUDA {0}")
    @CsvSource({"12040, 12.4", "12090, 12.9", "11080, 11.8"})
    void anOlderDriverIsRefusedInOneLineBeforeTheKernelsLoad(int driverCuda, String cuda) throws IOException {
        Path lib = Files.createSymbolicLink(dir.resolve("libcuda.so.1"), Files.createFile(dir.resolve("libcuda.so.550.54.15")));
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> open(driverCuda, lib.toString()));
        assertEquals(CudaRuntime.PREFIX + "the NVIDIA driver 550.54.15 (" + lib + ") supports CUDA " + cuda + ", but mnv3's "
                + "kernels were built with CUDA 13.0 and need a driver for CUDA 13.0 or newer (R580 or later): update the NVIDIA "
                + "driver, or on a data-center GPU point -Dmnv3.cuda.libDir at CUDA's forward-compatibility libcuda (cuda-compat)",
                e.getMessage());
        assertEquals(0, state.moduleLoads.get(), "the fatbin was never given to the driver");
    }

    @ParameterizedTest(name = "driver CUDA {0}")
    @CsvSource({"13000", "13020"})
    void aDriverForCuda13LoadsTheKernels(int driverCuda) {
        CudaRuntime rt = open(driverCuda, "fake libcuda");
        assertEquals(1, state.moduleLoads.get());
        assertEquals(driverCuda, rt.info().driver().cuda());
        assertTrue(rt.info().toString().contains("CUDA " + DriverVersion.cudaString(driverCuda) + " (fake libcuda)"), rt.info().toString());
    }

    @Test
    void theReportSaysTheDriverAndEveryCardBeforeAnythingLoads() {
        state.driverVersion = 12040;
        state.devices = 2;
        FakeCuda.state = state;
        CudaDevices.Report r = CudaDevices.report(CudaDevices.Driver.initialize(new CudaDriver(FakeCuda.LOOKUP), "fake libcuda"),
                13000);
        assertEquals(List.of("NVIDIA driver (release unknown), CUDA 12.4 (fake libcuda)", "mnv3's kernels: built with CUDA 13.0",
                "2 GPUs:", "  0: Fake GPU, compute capability 9.0 (sm_90), 132 SMs, 81920 MiB",
                "  1: Fake GPU, compute capability 9.0 (sm_90), 132 SMs, 81920 MiB"), r.lines());
        assertTrue(r.problem().startsWith("the NVIDIA driver (fake libcuda) supports CUDA 12.4, but mnv3's kernels were built "
                + "with CUDA 13.0"), r.problem());
        assertEquals(0, state.moduleLoads.get());
        CudaDevices.Report unknown = CudaDevices.report(CudaDevices.Driver.initialize(new CudaDriver(FakeCuda.LOOKUP),
                "fake libcuda"), 0);
        assertNull(unknown.problem(), "kernels without a note: the driver is not checked against them");
        assertTrue(unknown.lines().get(1).matches("mnv3's kernels: (built with an unknown CUDA version .*|the CUDA kernels were not built.*)"),
                unknown.lines().get(1));
        state.driverVersion = 13000;
        assertNull(CudaDevices.report(CudaDevices.Driver.initialize(new CudaDriver(FakeCuda.LOOKUP), "fake libcuda"), 13000)
                .problem());
    }

    @Test
    void theReleaseComesFromTheLibraryFileElseTheKernelModule() throws IOException {
        Path versioned = Files.createSymbolicLink(dir.resolve("libcuda.so.1"), Files.createFile(dir.resolve("libcuda.so.580.65.06")));
        Path module = Files.writeString(dir.resolve("version"),
                "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  Sun May 12 19:39:15 UTC 2024\nGCC version: gcc 12\n");
        assertEquals("580.65.06", DriverVersion.release(versioned.toString(), module));
        assertEquals("535.183.01", DriverVersion.release("libcuda.so.1", module), "found by the dynamic loader by name");
        assertNull(DriverVersion.release("libcuda.so.1", dir.resolve("absent")));
    }

    @Test
    void theFatbinsNoteSaysWhichCudaBuiltIt() {
        assertEquals(13000, Fatbin.parseCuda("13.0\n"));
        assertEquals(12080, Fatbin.parseCuda("12.8"));
        assertEquals(0, Fatbin.parseCuda("release 13"));
        int built = Fatbin.builtCuda();
        assertTrue(built == 0 || built >= 12000, "the packaged note: " + built);
    }
}
