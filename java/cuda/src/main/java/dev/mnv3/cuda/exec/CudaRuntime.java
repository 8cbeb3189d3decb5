package dev.mnv3.cuda.exec;

import dev.mnv3.core.backend.BackendUnavailableException;
import dev.mnv3.core.backend.CudnnMode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.ffi.CudaException;
import dev.mnv3.cuda.ffi.Cudnn;
import dev.mnv3.cuda.ffi.Fatbin;
import dev.mnv3.cuda.ffi.LibraryLocator;
import dev.mnv3.cuda.ffi.NativeLibraries;

/**
 * The process-wide CUDA state: the driver bindings, one device, its primary context and our
 * kernels module, opened once, on first use, and kept for the life of the process; and cuDNN,
 * loaded only when a model may use it ({@link #cudnn}), so that a driver-only model never looks
 * for it. When the driver or the kernels are missing, {@link #get()} throws (and
 * {@link #unavailableReason()} returns) one message saying what was looked for and where; nothing
 * here may crash the JVM.
 */
public final class CudaRuntime {
    public static final String PREFIX = "CUDA backend unavailable: ";
    /** Our fatbin has SASS for sm_80 and newer only (CUDA 13 dropped older architectures). */
    public static final int MIN_COMPUTE_CAPABILITY = 80;
    private static final System.Logger LOG = System.getLogger(CudaRuntime.class.getName());

    /** By device ordinal: a CudaRuntime, or the reason it cannot be opened. */
    private static final Map<Integer, Object> STATES = new HashMap<>();
    /** Whether running without cuDNN has been said (once per process). */
    private static final AtomicBoolean DRIVER_ONLY_SAID = new AtomicBoolean();

    public final CudaDriver driver;
    public final KernelLaunchers kernels;
    private final MemorySegment context;
    private final Info info;
    /** Loads cuDNN when first asked for it; throws BackendUnavailableException when it cannot. */
    private final Supplier<LoadedCudnn> cudnnLoader;
    private Object cudnnState; // null: not tried yet; a LoadedCudnn, or why there is none
    /** The pinned host allocations handed out ({@link CudaModel#allocateHost}): base address to size. */
    private final Map<Long, Long> pinned = new java.util.concurrent.ConcurrentHashMap<>();
    /** Algorithm and kernel choices timed on this device, shared by every model (see {@link Tuning}). */
    public final Tuning tuning = new Tuning();
    /** Keeps context-wide calls out of the lanes' graph captures. */
    public final CaptureGate captureGate = new CaptureGate();
    /** A stream of the runtime's own for the copies no lane makes (weights, device tensors): waiting for it waits for no lane. */
    private final MemorySegment transfers;
    /** Why each CUDA graph capture that failed failed, in order (a pass then runs eagerly). */
    private final List<String> captureFailures = new CopyOnWriteArrayList<>();

    /** What was opened, for logs and {@link CudaInfo}. */
    public record Info(String device, int ordinal, int computeCapability, int multiprocessors, DriverVersion driver,
                       int fatbinBytes, long memoryBytes) {
        @Override
        public String toString() {
            return String.format("%s (device %d, sm_%d, %d SMs, %d MiB), %s, kernels fatbin %d KiB", device, ordinal,
                    computeCapability, multiprocessors, memoryBytes >> 20, driver, fatbinBytes >> 10);
        }
    }

    /** cuDNN, loaded: the bindings, its version (e.g. 90100 for 9.1.0) and where it came from. */
    public record LoadedCudnn(Cudnn api, long version, String library) {
        @Override
        public String toString() {
            return String.format("cuDNN %d.%d.%d (%s)", version / 10000, version % 10000 / 100, version % 100, library);
        }
    }

    /**
     * Over an opened device with {@code context} current on this thread; public for FakeCudaTest,
     * which runs the executor on a driver and cuDNN written in Java.
     */
    public CudaRuntime(CudaDriver driver, Supplier<LoadedCudnn> cudnnLoader, KernelLaunchers kernels, MemorySegment context, Info info) {
        this.driver = driver;
        this.cudnnLoader = cudnnLoader;
        this.kernels = kernels;
        this.context = context;
        this.info = info;
        this.transfers = driver.streamCreate(); // lives as long as the context: never destroyed
    }

    /** The runtime of device 0 (the default; CUDA_VISIBLE_DEVICES applies first), opened on first call. */
    public static CudaRuntime get() {
        return get(0);
    }

    /** The runtime of device {@code ordinal}, opened on first call and kept for the life of the process. */
    public static synchronized CudaRuntime get(int ordinal) {
        Object state = STATES.get(ordinal);
        if (state == null) {
            try {
                state = PlatformThreads.call(() -> open(LibraryLocator.system(), ordinal));
            } catch (BackendUnavailableException e) {
                state = e.getMessage();
            }
            STATES.put(ordinal, state);
        }
        if (state instanceof CudaRuntime rt) return rt;
        throw new BackendUnavailableException((String) state);
    }

    /** Null when the CUDA backend can run here (on device 0), else why not. Never throws. */
    public static String unavailableReason() {
        try {
            get();
            return null;
        } catch (BackendUnavailableException | IllegalArgumentException e) {
            return e.getMessage();
        } catch (Throwable t) {
            return PREFIX + "unexpected " + t;
        }
    }

    /** Opens device 0. */
    public static CudaRuntime open(LibraryLocator locator) {
        return open(locator, 0);
    }

    /** Opens everything but cuDNN for one device; exposed to tests so they can point the search at fake directories. */
    public static CudaRuntime open(LibraryLocator locator, int ordinal) {
        String kernelsProblem = null;
        byte[] fatbin = null;
        try {
            fatbin = Fatbin.load();
        } catch (BackendUnavailableException e) {
            kernelsProblem = e.getMessage();
        }
        return open(() -> CudaDevices.openDriver(locator), fatbin, Fatbin.builtCuda(), kernelsProblem, ordinal,
                () -> loadCudnn(locator));
    }

    /**
     * Opens device {@code ordinal} of {@code driver} with the kernels {@code fatbin}, built by CUDA
     * {@code builtCuda} (0: unknown), after checking that the driver can run them; null
     * {@code fatbin}: {@code kernelsProblem} says why there is none. Every failure is one
     * BackendUnavailableException. Public for DriverVersionTest, which opens the fake driver.
     */
    public static CudaRuntime open(Supplier<CudaDevices.Driver> driver, byte[] fatbin, int builtCuda, String kernelsProblem,
                                   int ordinal, Supplier<LoadedCudnn> cudnn) {
        try {
            CudaRuntime rt = openDevice(driver.get(), fatbin, builtCuda, ordinal, cudnn);
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
    private static CudaRuntime openDevice(CudaDevices.Driver d, byte[] fatbin, int builtCuda, int ordinal,
                                          Supplier<LoadedCudnn> cudnn) {
        if (fatbin != null) d.requireCuda(builtCuda); // before cuModuleLoadData, whose own error would not say what to do
        CudaDriver driver = d.api();
        int count = driver.deviceCount();
        if (count == 0) throw new BackendUnavailableException("the NVIDIA driver (" + d.path() + ") sees no GPU");
        if (ordinal < 0 || ordinal >= count) {
            throw new BackendUnavailableException("device " + ordinal + " was asked for, but the NVIDIA driver sees " + count
                    + (count == 1 ? " GPU (device 0)" : " GPUs (devices 0 to " + (count - 1) + ")"));
        }
        int device = driver.device(ordinal);
        String name = driver.deviceName(device);
        int cc = CudaDevices.computeCapability(driver, device);
        if (cc < MIN_COMPUTE_CAPABILITY) {
            throw new BackendUnavailableException(name + " has compute capability " + cc / 10 + "." + cc % 10
                    + "; mnv3's kernels need 8.0 (Ampere) or newer");
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
        KernelLaunchers kernels = KernelLaunchers.loaded(driver, module, sms);
        Info info = new Info(name, ordinal, cc, sms, d.version(), fatbin.length, driver.memInfo()[1]);
        return new CudaRuntime(driver, cudnn, kernels, context, info);
    }

    /** cuDNN 9, found by {@code locator}; a handle is created and destroyed to prove its sub-libraries load. */
    private static LoadedCudnn loadCudnn(LibraryLocator locator) {
        NativeLibraries.Opened lib = NativeLibraries.open(locator.cudnn(), "cuDNN 9");
        Cudnn cudnn = new Cudnn(lib.lookup());
        long version = cudnn.version();
        if (version < 90000) throw new BackendUnavailableException(lib.path() + " is cuDNN " + version + "; mnv3 needs cuDNN 9");
        try {
            cudnn.destroy(cudnn.create());
        } catch (CudaException e) {
            throw new BackendUnavailableException("cuDNN (" + lib.path() + ") does not work: " + e.getMessage()
                    + (lib.preloadFailures().isEmpty() ? "" : "\n  preloads that failed:\n  - "
                    + String.join("\n  - ", lib.preloadFailures())));
        }
        return new LoadedCudnn(cudnn, version, lib.path());
    }

    /**
     * cuDNN, loaded on the first call (never before: a model with cuDNN off never looks for it), or
     * null when it cannot be used here; {@link #cudnnUnavailableReason} then says why.
     */
    public synchronized LoadedCudnn cudnn() {
        if (cudnnState == null) {
            try {
                cudnnState = PlatformThreads.call(() -> {
                    makeCurrent();
                    return captureGate.contextWide(cudnnLoader); // its probe destroys a handle: a context-wide wait
                });
            } catch (BackendUnavailableException | CudaException | LinkageError e) {
                cudnnState = e.getMessage();
            } catch (RuntimeException e) {
                cudnnState = "cuDNN 9 could not be loaded: " + e;
            }
            if (cudnnState instanceof String reason) {
                LOG.log(System.Logger.Level.DEBUG, reason);
            }
        }
        return cudnnState instanceof LoadedCudnn c ? c : null;
    }

    /**
     * cuDNN for a model compiled with {@code mode}: null for {@link CudnnMode#OFF} (never looked
     * for), and for {@link CudnnMode#AUTO} where it cannot be used, which is said once per process
     * in one INFO line; {@link CudnnMode#ON} without it fails with the reason.
     */
    public LoadedCudnn cudnnFor(CudnnMode mode) {
        return switch (mode) {
            case OFF -> null;
            case ON -> {
                LoadedCudnn c = cudnn();
                if (c == null) {
                    throw new BackendUnavailableException("CudaSettings.cudnn is ON, but cuDNN cannot be used here: " + cudnnUnavailableReason());
                }
                yield c;
            }
            case AUTO -> {
                LoadedCudnn c = cudnn();
                if (c == null && !DRIVER_ONLY_SAID.getAndSet(true)) {
                    LOG.log(System.Logger.Level.INFO, "no cuDNN (" + cudnnUnavailableReason().lines().findFirst().orElse("")
                            + "): the CUDA backend runs on mnv3's own kernels alone; CudaSettings.cudnn OFF skips the search");
                }
                yield c;
            }
        };
    }

    /** Why {@link #cudnn} is null; null when cuDNN is loaded or was never asked for. */
    public synchronized String cudnnUnavailableReason() {
        return cudnnState instanceof String reason ? reason : null;
    }

    /** Copies to the device on the runtime's own stream; the calling thread has the context current. */
    public void upload(long dst, MemorySegment src, long bytes) {
        driver.upload(dst, src, bytes, transfers);
    }

    /** Copies from the device on the runtime's own stream: after every call that wrote {@code src} has returned. */
    public void download(MemorySegment dst, long src, long bytes) {
        driver.download(dst, src, bytes, transfers);
    }

    void captureFailed(String why) {
        captureFailures.add(why);
    }

    /** Why each CUDA graph capture on this device failed, in order; the GPU tests require none. */
    public List<String> captureFailures() {
        return List.copyOf(captureFailures);
    }

    /** Pinned host memory of {@code bytes}, registered so that a tensor over it is copied by DMA directly. */
    public MemorySegment allocatePinned(long bytes) {
        MemorySegment m = PlatformThreads.call(() -> {
            makeCurrent();
            return driver.memAllocHost(Math.max(bytes, 1));
        });
        pinned.put(m.address(), m.byteSize());
        return m.asSlice(0, bytes);
    }

    public void freePinned(MemorySegment m) {
        if (pinned.remove(m.address()) == null) return;
        PlatformThreads.run(() -> {
            makeCurrent();
            driver.memFreeHost(m);
        });
    }

    /** Whether {@code m} lies within pinned memory this runtime handed out. */
    public boolean isPinned(MemorySegment m) {
        for (Map.Entry<Long, Long> e : pinned.entrySet()) {
            if (m.address() >= e.getKey() && m.address() + m.byteSize() <= e.getKey() + e.getValue()) return true;
        }
        return false;
    }

    /** The CUDA context is per OS thread: every entry point calls this before touching the GPU. */
    public void makeCurrent() {
        driver.setCurrent(context);
    }

    public Info info() {
        return info;
    }

    /** One line on cuDNN for {@link CudaInfo}: its version and path, or why it cannot be used. Loads it. */
    public String cudnnDescription() {
        LoadedCudnn c = cudnn();
        return c != null ? c.toString() : "cuDNN: none (" + cudnnUnavailableReason().lines().findFirst().orElse("") + ")";
    }
}
