package dev.mnv3.cuda.exec;

import dev.mnv3.core.backend.BackendUnavailableException;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.ffi.CudaException;
import dev.mnv3.cuda.ffi.LibraryLocator;
import dev.mnv3.cuda.ffi.NativeLibraries;
import java.util.ArrayList;
import java.util.List;

/** The GPUs the NVIDIA driver sees, found without creating a context, and the driver opened for them. */
public final class CudaDevices {
    private CudaDevices() {
    }

    /** A GPU the driver sees, and whether our kernels can run on it. */
    public record Device(int ordinal, String name, int computeCapability, int multiprocessors, long memoryBytes) {
        public boolean usable() {
            return computeCapability >= CudaRuntime.MIN_COMPUTE_CAPABILITY;
        }

        @Override
        public String toString() {
            return String.format("%d: %s, sm_%d, %d SMs, %d MiB%s", ordinal, name, computeCapability, multiprocessors,
                    memoryBytes >> 20, usable() ? "" : " (too old for mnv3's kernels: they need sm_80 or newer)");
        }
    }

    /** Every GPU the driver sees (no context is created); throws with the reason when there is no driver. */
    public static List<Device> all() {
        return PlatformThreads.call(() -> {
            try {
                Driver d = openDriver(LibraryLocator.system());
                List<Device> out = new ArrayList<>();
                for (int i = 0; i < d.api.deviceCount(); i++) {
                    int dev = d.api.device(i);
                    out.add(new Device(i, d.api.deviceName(dev), computeCapability(d.api, dev),
                            d.api.attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev), d.api.totalMemory(dev)));
                }
                return out;
            } catch (BackendUnavailableException e) {
                throw new BackendUnavailableException(CudaRuntime.PREFIX + e.getMessage(), e);
            } catch (CudaException | IllegalCallerException | LinkageError e) {
                throw new BackendUnavailableException(CudaRuntime.PREFIX + e.getMessage(), e);
            }
        });
    }

    /** The driver library, opened and initialized. */
    record Driver(CudaDriver api, String path) {
    }

    static Driver openDriver(LibraryLocator locator) {
        NativeLibraries.Opened libcuda = NativeLibraries.open(locator.driver(), "the NVIDIA driver library");
        CudaDriver driver = new CudaDriver(libcuda.lookup());
        int rc = driver.init();
        if (rc != 0) {
            throw new BackendUnavailableException("the NVIDIA driver (" + libcuda.path() + ") cannot initialize CUDA: "
                    + driver.error("cuInit", rc).getMessage());
        }
        return new Driver(driver, libcuda.path());
    }

    static int computeCapability(CudaDriver driver, int device) {
        return 10 * driver.attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device)
                + driver.attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
    }
}
