package dev.mnv3.cuda;

import dev.mnv3.core.backend.BackendUnavailableException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The process-wide CUDA state: the driver and cuDNN bindings, one device, its primary context
 * and our kernels module. Opened once, on first use, and kept for the life of the process. When
 * anything is missing, {@link #get()} throws (and {@link #unavailableReason()} returns) one
 * message saying what was looked for and where; nothing here may crash the JVM.
 */
public final class CudaRuntime {
    /** Which GPU to use (CUDA_VISIBLE_DEVICES applies first); default 0. */
    public static final String DEVICE_PROPERTY = "mnv3.cuda.device";
    static final String PREFIX = "CUDA backend unavailable: ";
    /** Our fatbin has SASS for sm_80 and newer only (CUDA 13 dropped older architectures). */
    static final int MIN_COMPUTE_CAPABILITY = 80;

    private static Object state; // a CudaRuntime, or the reason it cannot be opened

    final CudaDriver driver;
    final Cudnn cudnn;
    final Kernels kernels;
    private final MemorySegment context;
    private final Info info;

    /** What was opened, for logs and {@link CudaInfo}. */
    public record Info(String device, int ordinal, int computeCapability, int multiprocessors, int driverVersion,
                       long cudnnVersion, String driverLibrary, String cudnnLibrary, int fatbinBytes, long memoryBytes) {
        @Override
        public String toString() {
            return String.format("%s (device %d, sm_%d, %d SMs, %d MiB), driver API %d.%d (%s), cuDNN %d.%d.%d (%s), "
                            + "kernels fatbin %d KiB", device, ordinal, computeCapability, multiprocessors,
                    memoryBytes >> 20, driverVersion / 1000, driverVersion % 1000 / 10, driverLibrary,
                    cudnnVersion / 10000, cudnnVersion % 10000 / 100, cudnnVersion % 100, cudnnLibrary, fatbinBytes >> 10);
        }
    }

    /** Package-private for FakeCudaTest, which runs the executor on a driver and cuDNN written in Java. */
    CudaRuntime(CudaDriver driver, Cudnn cudnn, Kernels kernels, MemorySegment context, Info info) {
        this.driver = driver;
        this.cudnn = cudnn;
        this.kernels = kernels;
        this.context = context;
        this.info = info;
    }

    /** The runtime of this process, opened on first call. */
    public static synchronized CudaRuntime get() {
        if (state == null) {
            try {
                state = PlatformThreads.call(() -> open(LibraryLocator.system()));
            } catch (BackendUnavailableException e) {
                state = e.getMessage();
            }
        }
        if (state instanceof CudaRuntime rt) return rt;
        throw new BackendUnavailableException((String) state);
    }

    /** Null when the CUDA backend can run here, else why not. Never throws. */
    public static String unavailableReason() {
        try {
            get();
            return null;
        } catch (BackendUnavailableException e) {
            return e.getMessage();
        } catch (Throwable t) {
            return PREFIX + "unexpected " + t;
        }
    }

    /** Opens everything; exposed to tests so they can point the search at fake directories. */
    static CudaRuntime open(LibraryLocator locator) {
        String kernelsProblem = null;
        byte[] fatbin = null;
        try {
            fatbin = Fatbin.load();
        } catch (BackendUnavailableException e) {
            kernelsProblem = e.getMessage();
        }
        try {
            CudaRuntime rt = openDevice(locator, fatbin);
            if (rt == null) throw new BackendUnavailableException(kernelsProblem);
            return rt;
        } catch (BackendUnavailableException e) {
            String also = kernelsProblem != null && !kernelsProblem.equals(e.getMessage()) ? "\nalso: " + kernelsProblem : "";
            throw new BackendUnavailableException(PREFIX + e.getMessage() + also, e);
        } catch (CudaException e) {
            throw new BackendUnavailableException(PREFIX + e.getMessage() + (kernelsProblem != null ? "\nalso: " + kernelsProblem : ""), e);
        } catch (IllegalCallerException e) {
            throw new BackendUnavailableException(PREFIX + "native access is disabled; run java with "
                    + "--enable-native-access=ALL-UNNAMED (" + e.getMessage() + ")", e);
        } catch (RuntimeException | LinkageError e) {
            throw new BackendUnavailableException(PREFIX + e, e);
        }
    }

    /** Null when everything but the kernels is fine (the caller reports the kernels problem). */
    private static CudaRuntime openDevice(LibraryLocator locator, byte[] fatbin) {
        NativeLibraries.Opened libcuda = NativeLibraries.open(locator.driver(), "the NVIDIA driver library");
        CudaDriver driver = new CudaDriver(libcuda.lookup());
        int rc = driver.init();
        if (rc != 0) {
            throw new BackendUnavailableException("the NVIDIA driver (" + libcuda.path() + ") cannot initialize CUDA: "
                    + driver.error("cuInit", rc).getMessage());
        }
        int count = driver.deviceCount();
        if (count == 0) throw new BackendUnavailableException("the NVIDIA driver (" + libcuda.path() + ") sees no GPU");
        int ordinal = Integer.getInteger(DEVICE_PROPERTY, 0);
        if (ordinal < 0 || ordinal >= count) {
            throw new BackendUnavailableException("-D" + DEVICE_PROPERTY + "=" + ordinal + " but there are " + count + " GPUs");
        }
        int device = driver.device(ordinal);
        String name = driver.deviceName(device);
        int cc = 10 * driver.attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device)
                + driver.attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
        if (cc < MIN_COMPUTE_CAPABILITY) {
            throw new BackendUnavailableException(name + " has compute capability " + cc / 10 + "." + cc % 10
                    + "; mnv3's kernels need 8.0 (Ampere) or newer");
        }
        NativeLibraries.Opened libcudnn = NativeLibraries.open(locator.cudnn(), "cuDNN 9");
        Cudnn cudnn = new Cudnn(libcudnn.lookup());
        long cudnnVersion = cudnn.version();
        if (cudnnVersion < 90000) {
            throw new BackendUnavailableException(libcudnn.path() + " is cuDNN " + cudnnVersion + "; mnv3 needs cuDNN 9");
        }
        if (fatbin == null) return null;
        MemorySegment context = driver.retainPrimaryContext(device);
        driver.setCurrent(context);
        MemorySegment module;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment image = a.allocate(fatbin.length, 16);
            MemorySegment.copy(fatbin, 0, image, ValueLayout.JAVA_BYTE, 0, fatbin.length);
            module = driver.moduleLoadData(image);
        }
        int sms = driver.attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
        Kernels kernels = Kernels.loaded(driver, module, sms);
        // a cuDNN handle proves the sub-libraries load; a failure here names the preloads that failed
        try {
            cudnn.destroy(cudnn.create());
        } catch (CudaException e) {
            throw new BackendUnavailableException("cuDNN (" + libcudnn.path() + ") does not work: " + e.getMessage()
                    + (libcudnn.preloadFailures().isEmpty() ? "" : "\n  preloads that failed:\n  - "
                    + String.join("\n  - ", libcudnn.preloadFailures())));
        }
        Info info = new Info(name, ordinal, cc, sms, driver.driverVersion(), cudnnVersion, libcuda.path(), libcudnn.path(),
                fatbin.length, driver.memInfo()[1]);
        return new CudaRuntime(driver, cudnn, kernels, context, info);
    }

    /** The CUDA context is per OS thread: every entry point calls this before touching the GPU. */
    void makeCurrent() {
        driver.setCurrent(context);
    }

    public Info info() {
        return info;
    }
}
