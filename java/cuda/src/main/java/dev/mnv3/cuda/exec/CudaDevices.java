package dev.mnv3.cuda.exec;

import dev.mnv3.core.backend.BackendUnavailableException;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.ffi.CudaException;
import dev.mnv3.cuda.ffi.Fatbin;
import dev.mnv3.cuda.ffi.LibraryLocator;
import dev.mnv3.cuda.ffi.NativeLibraries;
import java.util.ArrayList;
import java.util.List;

/** The NVIDIA driver and the GPUs it sees, found without creating a context or loading our kernels. */
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
            return String.format("%d: %s, compute capability %d.%d (sm_%d), %d SMs, %d MiB%s", ordinal, name, computeCapability / 10,
                    computeCapability % 10, computeCapability, multiprocessors, memoryBytes >> 20,
                    usable() ? "" : " (too old for mnv3's kernels: they need sm_80 or newer)");
        }
    }

    /** The driver library, opened and initialized, and its version. */
    public record Driver(CudaDriver api, DriverVersion version) {
        /** cuInit, then cuDriverGetVersion: what a driver that cannot run our kernels is told apart by. */
        public static Driver initialize(CudaDriver api, String library) {
            int rc = api.init();
            if (rc != 0) {
                throw new BackendUnavailableException("the NVIDIA driver (" + library + ") cannot initialize CUDA: "
                        + api.error("cuInit", rc).getMessage());
            }
            return new Driver(api, DriverVersion.of(api.driverVersion(), library));
        }

        public String path() {
            return version.library();
        }

        /** Throws, in one line, when the driver cannot run kernels built with CUDA {@code builtCuda} (0: unknown, not checked). */
        public void requireCuda(int builtCuda) {
            String tooOld = builtCuda > 0 ? version.tooOldFor(builtCuda) : null;
            if (tooOld != null) throw new BackendUnavailableException(tooOld);
        }

        /** Every GPU this driver sees. */
        public List<Device> devices() {
            List<Device> out = new ArrayList<>();
            for (int i = 0; i < api.deviceCount(); i++) {
                int dev = api.device(i);
                out.add(new Device(i, api.deviceName(dev), computeCapability(api, dev),
                        api.attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev), api.totalMemory(dev)));
            }
            return out;
        }
    }

    /**
     * What the driver says, for {@code mnv3 info --devices} and the GPU check's first step: the
     * driver (release, the CUDA version it supports, library), every GPU (name, compute
     * capability, SMs, memory), and whether the driver can run our kernels, which are not loaded.
     */
    public record Report(DriverVersion driver, List<Device> devices, int kernelsCuda) {
        /** Null when the kernels can run on some GPU here, else why not (one line). */
        public String problem() {
            String tooOld = kernelsCuda > 0 ? driver.tooOldFor(kernelsCuda) : null;
            if (tooOld != null) return tooOld;
            if (devices.isEmpty()) return "the NVIDIA driver sees no GPU";
            return devices.stream().anyMatch(Device::usable) ? null : "no GPU here has compute capability 8.0 or newer";
        }

        public List<String> lines() {
            List<String> out = new ArrayList<>();
            out.add(driver.toString());
            out.add("mnv3's kernels: " + (kernelsCuda > 0 ? "built with CUDA " + DriverVersion.cudaString(kernelsCuda)
                    : Fatbin.present() ? "built with an unknown CUDA version (no note beside the fatbin): the driver is not checked"
                    : Fatbin.missingReason()));
            out.add(devices.isEmpty() ? "no GPU" : devices.size() + (devices.size() == 1 ? " GPU:" : " GPUs:"));
            devices.forEach(d -> out.add("  " + d));
            return out;
        }
    }

    /** The driver here and its GPUs; throws with the reason, and where it looked, when there is no driver. */
    public static Report report() {
        return PlatformThreads.call(() -> {
            try {
                return report(openDriver(LibraryLocator.system()), Fatbin.builtCuda());
            } catch (BackendUnavailableException | CudaException | IllegalCallerException | LinkageError e) {
                throw new BackendUnavailableException(CudaRuntime.PREFIX + e.getMessage(), e);
            }
        });
    }

    public static Report report(Driver d, int kernelsCuda) {
        return new Report(d.version(), d.devices(), kernelsCuda);
    }

    static Driver openDriver(LibraryLocator locator) {
        NativeLibraries.Opened libcuda = NativeLibraries.open(locator.driver(), "the NVIDIA driver library");
        return Driver.initialize(new CudaDriver(libcuda.lookup()), libcuda.path());
    }

    static int computeCapability(CudaDriver driver, int device) {
        return 10 * driver.attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device)
                + driver.attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
    }
}
