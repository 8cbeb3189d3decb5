package dev.mnv3.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.mnv3.core.backend.BackendUnavailableException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import dev.mnv3.cuda.exec.CudaRuntime;
import dev.mnv3.cuda.exec.DriverVersion;
import dev.mnv3.cuda.exec.KernelLaunchers;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.ffi.Cudnn;
import dev.mnv3.cuda.ffi.KernelArgs;
import dev.mnv3.cuda.exec.ConvAlgorithm;
import dev.mnv3.cuda.plan.StorageType;

/**
 * The CUDA driver and cuDNN written in Java, for running the GPU executor without a GPU: each
 * C function the bindings look up is a static method of this class of the same name, handed to
 * them as an FFM upcall stub, so {@link CudaDriver} and {@link Cudnn} run unchanged. "Device"
 * memory is host memory; copies copy; kernels and convolutions compute nothing but are checked:
 * every pointer they get must lie in a live allocation (a convolution's whole tensors, from its
 * descriptors), descriptors must describe a consistent convolution, and after close nothing may
 * be left allocated or created. Graph capture follows the driver's rules ({@link FakeCaptures}):
 * a call that would break a capture fails with the driver's code and invalidates it, which also
 * counts as a violation. Faults can be planted ({@link State#faults}). Copies land late, as on a GPU: an upload from pageable memory, or any asynchronous
 * one, is in flight until something orders it (its stream or the context synchronized), and work
 * on another stream that reads it before then is a violation. Every call that needs a context
 * must come from a platform thread that made one current (a virtual thread may change OS thread
 * between two calls). Everything wrong is collected in {@link State#violations}.
 */
@SuppressWarnings({"restricted", "unused"}) // the methods are called from native code, by name
final class FakeCuda {
    private static final Arena GLOBAL = Arena.global();
    private static final MemorySegment ERROR_TEXT = GLOBAL.allocateFrom("fake error");
    private static final Map<String, MemorySegment> STUBS = new ConcurrentHashMap<>();
    private static final AtomicLong HANDLES = new AtomicLong(0x1000);

    /** One test's world. */
    static final class State {
        final Map<Long, Arena> device = new ConcurrentHashMap<>(), host = new ConcurrentHashMap<>();
        final Map<Long, Long> sizes = new ConcurrentHashMap<>(), hostSizes = new ConcurrentHashMap<>();
        /** Uploads not yet known to have landed: destination -> {bytes, stream (0: the legacy stream)}. */
        final Map<Long, long[]> inFlight = new ConcurrentHashMap<>();
        /** The stream each cuDNN handle enqueues on. */
        final Map<Long, Long> handleStreams = new ConcurrentHashMap<>();
        /** The host source address of every asynchronous upload. */
        final List<Long> uploadSources = Collections.synchronizedList(new ArrayList<>());
        /** How many GPUs the fake driver reports. */
        volatile int devices = 1;
        /** The context each device allocation was made in. */
        final Map<Long, Long> allocationContext = new ConcurrentHashMap<>();

        /** A pointer used by work in the current context must have been allocated in it (another GPU's memory is not). */
        void onCurrentDevice(String who, long p) {
            Long ctx = current.get();
            sizes.forEach((base, size) -> {
                if (device.containsKey(base) && p >= base && p < base + size && !allocationContext.get(base).equals(ctx)) {
                    violation(who + " = " + Long.toHexString(p) + " is memory of context " + Long.toHexString(
                            allocationContext.get(base)) + ", used in context " + (ctx == null ? "none" : Long.toHexString(ctx)));
                }
            });
        }

        /** Every symbol the bindings looked up, in order. */
        final List<String> lookedUp = Collections.synchronizedList(new ArrayList<>());
        /** The context each thread made current (the driver's state is per OS thread). */
        final ThreadLocal<Long> current = new ThreadLocal<>();
        /** Live handles by kind ("stream", "event", "graph", "exec", "cudnn", "tensor", "filter", "conv", "module"). */
        final Map<Long, String> handles = new ConcurrentHashMap<>();
        final Map<Long, int[]> descriptors = new ConcurrentHashMap<>();
        final Map<Long, String> functions = new ConcurrentHashMap<>();
        /** Stream capture and what may break it. */
        final FakeCaptures capture = new FakeCaptures(this::violation);
        /** What cuDriverGetVersion reports (13000: CUDA 13.0). */
        volatile int driverVersion = 13000;
        final AtomicLong moduleLoads = new AtomicLong();
        /**
         * Planted failures, by kernel name or "cudnn algorithm N": a code that loses the context
         * (700, 716, 719...) is asynchronous, as a fault on a GPU is: the launch succeeds and every
         * later call returns it; any other code is returned by the launch or convolution itself.
         */
        final Map<String, Integer> faults = new ConcurrentHashMap<>();
        /** The fault every call returns once a launch has faulted: the context is lost. */
        volatile int lost;
        /** Streams the runtimes created for themselves: they live as long as the context. */
        final Set<Long> runtimeStreams = ConcurrentHashMap.newKeySet();
        final List<String> violations = Collections.synchronizedList(new ArrayList<>());
        final Map<String, Integer> launches = Collections.synchronizedMap(new TreeMap<>());
        final AtomicLong convolutions = new AtomicLong(), graphLaunches = new AtomicLong(), captures = new AtomicLong();
        final AtomicLong elapsed = new AtomicLong(), streamsCreated = new AtomicLong();
        /** The math type of every convolution run, by cuDNN's algorithm number. */
        final Map<Integer, Set<Integer>> mathByAlgorithm = new ConcurrentHashMap<>();

        /** Whether [p, p + bytes) lies in one live device allocation. */
        boolean inDevice(long p, long bytes) {
            for (Map.Entry<Long, Long> e : sizes.entrySet()) {
                if (device.containsKey(e.getKey()) && p >= e.getKey() && p + bytes <= e.getKey() + e.getValue()) return true;
            }
            return false;
        }

        void violation(String what) {
            violations.add(what);
        }

        boolean pinned(long p, long bytes) {
            for (Map.Entry<Long, Long> e : hostSizes.entrySet()) {
                if (host.containsKey(e.getKey()) && p >= e.getKey() && p + bytes <= e.getKey() + e.getValue()) return true;
            }
            return false;
        }

        /** Work on {@code stream} reads [p, p + bytes): an upload to it still in flight on another stream is a race. */
        void readsLanded(String who, long p, long bytes, long stream) {
            inFlight.forEach((dst, f) -> {
                if (p < dst + f[0] && dst < p + bytes && f[1] != stream) {
                    violation(who + " reads " + Long.toHexString(p) + " before the upload to it has landed (a copy "
                            + (f[1] == 0 ? "from pageable memory on the legacy stream" : "on another stream")
                            + " that nothing ordered before this use)");
                }
            });
        }

        /** Everything on {@code stream} (0: the legacy stream) has completed. */
        void landed(long stream) {
            inFlight.values().removeIf(f -> f[1] == stream);
        }

        /** A call that needs a context: from a platform thread that made one current. */
        void needsContext(String call) {
            if (Thread.currentThread().isVirtual()) {
                violation(call + " from a virtual thread, whose OS thread (and with it the current context) may change");
            } else if (current.get() == null) {
                violation(call + " on thread " + Thread.currentThread().getName() + ", which has no current context");
            }
        }
        /** What is still allocated or created. */
        List<String> leaks() {
            List<String> l = new ArrayList<>();
            device.keySet().forEach(p -> l.add("device memory " + Long.toHexString(p) + " (" + sizes.get(p) + " bytes)"));
            host.keySet().forEach(p -> l.add("pinned host memory " + Long.toHexString(p)));
            handles.forEach((h, kind) -> {
                if (!kind.equals("module") && !runtimeStreams.contains(h)) l.add(kind + " " + Long.toHexString(h));
            });
            return l;
        }
    }

    static volatile State state;

    private FakeCuda() {
    }

    /** A fresh world, and a runtime on it (132 SMs, sm_90, cuDNN 9.1) whose kernel launches check their pointer arguments. */
    static CudaRuntime runtime(State s) {
        return runtime(s, true);
    }

    /**
     * As {@link #runtime(State)}; without cuDNN ({@code withCudnn} false) asking for it fails as it
     * does where no libcudnn.so.9 is found, and no cuDNN symbol is ever looked up.
     */
    static CudaRuntime runtime(State s, boolean withCudnn) {
        return runtime(s, withCudnn, 0);
    }

    /** A runtime on fake device {@code ordinal} (of {@link State#devices}), with its own context. */
    static CudaRuntime runtime(State s, boolean withCudnn, int ordinal) {
        state = s;
        CudaDriver driver = new CudaDriver(LOOKUP);
        Supplier<CudaRuntime.LoadedCudnn> cudnn = withCudnn ? () -> new CudaRuntime.LoadedCudnn(new Cudnn(LOOKUP), 90100,
                "fake libcudnn") : () -> {
                    throw new BackendUnavailableException("cuDNN 9: libcudnn.so.9 was not found; looked in:\n  - nowhere (a fake)");
                };
        MemorySegment context = driver.retainPrimaryContext(ordinal);
        driver.setCurrent(context);
        MemorySegment module = driver.moduleLoadData(GLOBAL.allocate(16));
        Map<String, MemorySegment> functions = new ConcurrentHashMap<>();
        KernelLaunchers checked = new KernelLaunchers((kernel, geometry, stream, args, alloc) -> {
            for (int i = 0; i < args.count(); i++) {
                long v = args.value(i);
                if (args.type(i) == KernelArgs.Type.PTR && v != 0 && !s.inDevice(v, 1)) {
                    s.violation(kernel + ": argument " + args.name(i) + " = " + Long.toHexString(v) + " is not device memory");
                }
                if (args.type(i) == KernelArgs.Type.PTR && v != 0) {
                    s.readsLanded(kernel, v, 1, stream.address());
                    s.onCurrentDevice(kernel + " argument " + args.name(i), v);
                }
            }
            s.launches.merge(kernel, 1, Integer::sum);
            driver.launch(kernel, functions.computeIfAbsent(kernel, k -> driver.moduleFunction(module, k)), geometry.gridX(),
                    geometry.gridY(), geometry.gridZ(), geometry.blockX(), geometry.blockY(), geometry.sharedBytes(), stream,
                    args.pack(alloc));
        }, 132);
        Set<Long> before = Set.copyOf(s.handles.keySet());
        CudaRuntime rt = new CudaRuntime(driver, cudnn, checked, context, new CudaRuntime.Info("Fake GPU " + ordinal, ordinal, 90,
                132, new DriverVersion(s.driverVersion, null, "fake libcuda"), 16, 80L << 30));
        s.handles.forEach((h, kind) -> { if (kind.equals("stream") && !before.contains(h)) s.runtimeStreams.add(h); });
        return rt;
    }

    /** Finds a symbol as the static method of the same name, its C signature read off the Java one. */
    static final SymbolLookup LOOKUP = name -> {
        if (state != null) state.lookedUp.add(name);
        return Optional.ofNullable(STUBS.computeIfAbsent(name, FakeCuda::stub));
    };

    private static MemorySegment stub(String name) {
        for (Method m : FakeCuda.class.getDeclaredMethods()) {
            if (!m.getName().equals(name) || !Modifier.isStatic(m.getModifiers())) continue;
            MemoryLayout[] args = new MemoryLayout[m.getParameterCount()];
            for (int i = 0; i < args.length; i++) args[i] = layout(m.getParameterTypes()[i]);
            FunctionDescriptor fd = m.getReturnType() == void.class ? FunctionDescriptor.ofVoid(args)
                    : FunctionDescriptor.of(layout(m.getReturnType()), args);
            try {
                var handle = MethodHandles.lookup().findStatic(FakeCuda.class, name,
                        MethodType.methodType(m.getReturnType(), m.getParameterTypes()));
                return Linker.nativeLinker().upcallStub(handle, fd, GLOBAL);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return null; // not provided: the binding reports the symbol missing, or falls back
    }

    private static MemoryLayout layout(Class<?> c) {
        if (c == int.class) return JAVA_INT;
        if (c == long.class) return JAVA_LONG;
        if (c == MemorySegment.class) return ADDRESS;
        throw new IllegalArgumentException(c.toString());
    }

    // ---- helpers

    private static void putLong(MemorySegment out, long v) {
        out.reinterpret(8).set(JAVA_LONG, 0, v);
    }

    private static void putInt(MemorySegment out, int v) {
        out.reinterpret(4).set(JAVA_INT, 0, v);
    }

    private static long newHandle(MemorySegment out, String kind) {
        long h = HANDLES.addAndGet(16);
        state.handles.put(h, kind);
        putLong(out, h);
        return h;
    }

    private static int destroy(MemorySegment h, String kind) {
        String was = state.handles.remove(h.address());
        if (!kind.equals(was)) state.violation("destroying " + kind + " " + Long.toHexString(h.address()) + ", which is " + was);
        return 0;
    }

    private static int live(MemorySegment h, String kind, String call) {
        if (!kind.equals(state.handles.get(h.address()))) {
            state.violation(call + ": " + Long.toHexString(h.address()) + " is not a live " + kind);
            return 400; // CUDA_ERROR_INVALID_HANDLE
        }
        return 0;
    }

    private static int checkDevice(String call, long p, long bytes) {
        if (!state.inDevice(p, bytes)) {
            state.violation(call + ": [" + Long.toHexString(p) + ", +" + bytes + ") is not inside one device allocation");
            return 1;
        }
        return 0;
    }

    /** The current thread's context (0: none). */
    private static long context() {
        Long c = state.current.get();
        return c == null ? 0 : c;
    }

    /** Work enqueued on {@code stream}: the lost context's fault, or what capture says of it. */
    private static int enqueue(MemorySegment stream, String call) {
        return state.lost != 0 ? state.lost : state.capture.enqueue(stream.address(), context(), call);
    }

    /** A potentially unsafe call: the lost context's fault, or what capture says of it. */
    private static int unsafe(String call) {
        return state.lost != 0 ? state.lost : state.capture.unsafe(call, context());
    }

    /** A planted failure of {@code what}: a lost context from now on (0 returned now), or the code to return now. */
    private static int planted(String what) {
        Integer code = state.faults.get(what);
        if (code == null) return 0;
        if (code >= 700 && code <= 719 && code != 701 && code != 703) {
            state.lost = code;
            return 0;
        }
        return code;
    }

    // ---- the driver API

    static int cuGetErrorName(int e, MemorySegment out) {
        out.reinterpret(8).set(ADDRESS, 0, ERROR_TEXT);
        return 0;
    }

    static int cuGetErrorString(int e, MemorySegment out) {
        out.reinterpret(8).set(ADDRESS, 0, ERROR_TEXT);
        return 0;
    }

    static int cuInit(int flags) {
        return 0;
    }

    static int cuDriverGetVersion(MemorySegment out) {
        putInt(out, state.driverVersion);
        return 0;
    }

    static int cuDeviceGetCount(MemorySegment out) {
        putInt(out, state.devices);
        return 0;
    }

    static int cuDeviceGet(MemorySegment out, int ordinal) {
        putInt(out, ordinal);
        return 0;
    }

    static int cuDeviceGetName(MemorySegment buf, int len, int device) {
        buf.reinterpret(len).setString(0, "Fake GPU");
        return 0;
    }

    static int cuDeviceGetAttribute(MemorySegment out, int attribute, int device) {
        putInt(out, switch (attribute) {
            case CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT -> 132;
            case CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR -> 9;
            default -> 0;
        });
        return 0;
    }

    static int cuDeviceTotalMem_v2(MemorySegment out, int device) {
        putLong(out, 80L << 30);
        return 0;
    }

    static int cuDevicePrimaryCtxRetain(MemorySegment out, int device) {
        if (device < 0 || device >= state.devices) {
            state.violation("cuDevicePrimaryCtxRetain of device " + device + " of " + state.devices);
            return 101; // CUDA_ERROR_INVALID_DEVICE
        }
        putLong(out, 0xC0 + 0x10L * device);
        return 0;
    }

    static int cuCtxSetCurrent(MemorySegment context) {
        state.current.set(context.address());
        return 0;
    }

    static int cuCtxSynchronize() {
        state.needsContext("cuCtxSynchronize");
        int rc = state.lost != 0 ? state.lost : state.capture.contextWide("cuCtxSynchronize", context());
        if (rc == 0) state.inFlight.clear();
        return rc;
    }

    static int cuMemGetInfo_v2(MemorySegment free, MemorySegment total) {
        putLong(free, 40L << 30);
        putLong(total, 80L << 30);
        return 0;
    }

    static int cuMemAlloc_v2(MemorySegment out, long bytes) {
        state.needsContext("cuMemAlloc");
        int rc = unsafe("cuMemAlloc");
        if (rc != 0) return rc;
        if (bytes <= 0) {
            state.violation("cuMemAlloc of " + bytes + " bytes");
            return 1;
        }
        Arena a = Arena.ofShared();
        long p = a.allocate(bytes, 256).address();
        state.device.put(p, a);
        state.sizes.put(p, bytes);
        state.allocationContext.put(p, state.current.get() == null ? 0L : state.current.get());
        putLong(out, p);
        return 0;
    }

    static int cuMemFree_v2(long p) {
        int rc = unsafe("cuMemFree");
        if (rc != 0) return rc;
        Arena a = state.device.remove(p);
        if (a == null) {
            state.violation("cuMemFree of " + Long.toHexString(p) + ", not allocated (a double free?)");
            return 1;
        }
        a.close();
        return 0;
    }

    static int cuMemAllocHost_v2(MemorySegment out, long bytes) {
        int rc = unsafe("cuMemAllocHost");
        if (rc != 0) return rc;
        Arena a = Arena.ofShared();
        MemorySegment m = a.allocate(bytes, 64);
        state.host.put(m.address(), a);
        state.hostSizes.put(m.address(), bytes);
        out.reinterpret(8).set(ADDRESS, 0, m);
        return 0;
    }

    static int cuMemFreeHost(MemorySegment p) {
        int rc = unsafe("cuMemFreeHost");
        if (rc != 0) return rc;
        Arena a = state.host.remove(p.address());
        if (a == null) {
            state.violation("cuMemFreeHost of " + Long.toHexString(p.address()) + ", not allocated");
            return 1;
        }
        a.close();
        return 0;
    }

    /** From pinned memory it has landed when it returns; from pageable memory only once staged (CUDA's rule). */
    static int cuMemcpyHtoD_v2(long dst, MemorySegment src, long bytes) {
        state.needsContext("cuMemcpyHtoD");
        int rc = state.capture.legacy("cuMemcpyHtoD", context());
        if (rc != 0) return rc;
        if (!state.pinned(src.address(), bytes)) state.inFlight.put(dst, new long[] {bytes, 0});
        return copyIn(dst, src, bytes);
    }

    private static int copyIn(long dst, MemorySegment src, long bytes) {
        if (checkDevice("cuMemcpyHtoD", dst, bytes) != 0) return 1;
        state.onCurrentDevice("cuMemcpyHtoD destination", dst);
        MemorySegment.copy(src.reinterpret(bytes), 0, MemorySegment.ofAddress(dst).reinterpret(bytes), 0, bytes);
        return 0;
    }

    static int cuMemcpyDtoH_v2(MemorySegment dst, long src, long bytes) {
        state.needsContext("cuMemcpyDtoH");
        int rc = state.capture.legacy("cuMemcpyDtoH", context());
        if (rc != 0) return rc;
        state.readsLanded("cuMemcpyDtoH", src, bytes, 0);
        return copyOut(dst, src, bytes);
    }

    private static int copyOut(MemorySegment dst, long src, long bytes) {
        if (checkDevice("cuMemcpyDtoH", src, bytes) != 0) return 1;
        state.onCurrentDevice("cuMemcpyDtoH source", src);
        MemorySegment.copy(MemorySegment.ofAddress(src).reinterpret(bytes), 0, dst.reinterpret(bytes), 0, bytes);
        return 0;
    }

    static int cuMemcpyHtoDAsync_v2(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        state.needsContext("cuMemcpyHtoDAsync");
        if (live(stream, "stream", "cuMemcpyHtoDAsync") != 0) return 400;
        int rc = enqueue(stream, "cuMemcpyHtoDAsync");
        if (rc != 0) return rc;
        state.uploadSources.add(src.address());
        state.inFlight.put(dst, new long[] {bytes, stream.address()});
        return copyIn(dst, src, bytes);
    }

    static int cuMemcpyDtoHAsync_v2(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        state.needsContext("cuMemcpyDtoHAsync");
        if (live(stream, "stream", "cuMemcpyDtoHAsync") != 0) return 400;
        int rc = enqueue(stream, "cuMemcpyDtoHAsync");
        if (rc != 0) return rc;
        state.readsLanded("cuMemcpyDtoHAsync", src, bytes, stream.address());
        return copyOut(dst, src, bytes);
    }

    static int cuMemcpyDtoDAsync_v2(long dst, long src, long bytes, MemorySegment stream) {
        state.needsContext("cuMemcpyDtoDAsync");
        if (live(stream, "stream", "cuMemcpyDtoDAsync") != 0) return 400;
        int rc = enqueue(stream, "cuMemcpyDtoDAsync");
        if (rc != 0) return rc;
        if (checkDevice("cuMemcpyDtoDAsync destination", dst, bytes) != 0 || checkDevice("cuMemcpyDtoDAsync source", src, bytes) != 0) {
            return 1;
        }
        state.readsLanded("cuMemcpyDtoDAsync", src, bytes, stream.address());
        state.onCurrentDevice("cuMemcpyDtoDAsync destination", dst);
        state.onCurrentDevice("cuMemcpyDtoDAsync source", src);
        MemorySegment.copy(MemorySegment.ofAddress(src).reinterpret(bytes), 0, MemorySegment.ofAddress(dst).reinterpret(bytes), 0,
                bytes);
        return 0;
    }

    static int cuMemsetD32Async(long dst, int value, long count, MemorySegment stream) {
        int rc = enqueue(stream, "cuMemsetD32Async");
        return rc != 0 ? rc : checkDevice("cuMemsetD32Async", dst, 4 * count);
    }

    static int cuStreamCreate(MemorySegment out, int flags) {
        state.needsContext("cuStreamCreate");
        state.streamsCreated.incrementAndGet();
        state.capture.created(newHandle(out, "stream"), flags, context());
        return 0;
    }

    static int cuStreamDestroy_v2(MemorySegment s) {
        return destroy(s, "stream");
    }

    static int cuStreamSynchronize(MemorySegment s) {
        state.needsContext("cuStreamSynchronize");
        if (state.lost != 0) return state.lost;
        int rc = state.capture.synchronize(s.address(), context(), "cuStreamSynchronize");
        if (rc != 0) return rc;
        boolean legacy = FakeCaptures.legacyStream(s.address());
        state.landed(legacy ? 0 : s.address());
        return legacy ? 0 : live(s, "stream", "cuStreamSynchronize");
    }

    static int cuModuleLoadData(MemorySegment out, MemorySegment image) {
        state.needsContext("cuModuleLoadData");
        int rc = unsafe("cuModuleLoadData");
        if (rc != 0) return rc;
        state.moduleLoads.incrementAndGet();
        newHandle(out, "module");
        return 0;
    }

    static int cuModuleUnload(MemorySegment m) {
        return destroy(m, "module");
    }

    static int cuModuleGetFunction(MemorySegment out, MemorySegment module, MemorySegment name) {
        long h = newHandle(out, "function");
        state.handles.remove(h); // functions live as long as their module
        state.functions.put(h, name.reinterpret(256).getString(0));
        return 0;
    }

    static int cuLaunchKernel(MemorySegment f, int gx, int gy, int gz, int bx, int by, int bz, int shared,
                              MemorySegment stream, MemorySegment params, MemorySegment extra) {
        String name = state.functions.get(f.address());
        state.needsContext("cuLaunchKernel(" + name + ")");
        if (name == null) state.violation("cuLaunchKernel of an unknown function");
        if (gx < 1 || gy < 1 || gz < 1 || gy > 65535 || gz > 65535 || bx < 1 || by < 1 || bz < 1 || (long) bx * by * bz > 1024) {
            state.violation(name + ": launch grid (" + gx + ", " + gy + ", " + gz + ") block (" + bx + ", " + by + ", " + bz + ")");
        }
        if (shared > 48 * 1024) state.violation(name + ": " + shared + " bytes of dynamic shared memory");
        int rc = enqueue(stream, "cuLaunchKernel(" + name + ")");
        if (rc == 0 && !state.capture.capturing(stream.address())) rc = planted(name);
        return rc != 0 ? rc : live(stream, "stream", "cuLaunchKernel(" + name + ")");
    }

    static int cuEventCreate(MemorySegment out, int flags) {
        state.needsContext("cuEventCreate");
        newHandle(out, "event");
        return 0;
    }

    static int cuEventRecord(MemorySegment e, MemorySegment stream) {
        int rc = enqueue(stream, "cuEventRecord");
        return rc != 0 ? rc : live(e, "event", "cuEventRecord") | live(stream, "stream", "cuEventRecord");
    }

    static int cuEventSynchronize(MemorySegment e) {
        return state.lost != 0 ? state.lost : live(e, "event", "cuEventSynchronize");
    }

    /** Times that differ from call to call, so timed choices go both ways. */
    static int cuEventElapsedTime_v2(MemorySegment out, MemorySegment start, MemorySegment end) {
        out.reinterpret(4).set(JAVA_FLOAT, 0, 0.01f + (state.elapsed.incrementAndGet() * 7919 % 13) * 0.01f);
        return live(start, "event", "cuEventElapsedTime") | live(end, "event", "cuEventElapsedTime");
    }

    static int cuEventDestroy_v2(MemorySegment e) {
        return state.lost != 0 ? state.lost : destroy(e, "event");
    }

    static int cuStreamBeginCapture_v2(MemorySegment s, int mode) {
        state.needsContext("cuStreamBeginCapture");
        if (state.capture.begin(s.address(), mode) != 0) state.violation("capture begun twice on one stream, or on the legacy stream");
        state.captures.incrementAndGet();
        return live(s, "stream", "cuStreamBeginCapture");
    }

    /** Ends the capture: a graph, or (invalidated) CUDA_ERROR_STREAM_CAPTURE_INVALIDATED and a null graph. */
    static int cuStreamEndCapture(MemorySegment s, MemorySegment out) {
        int rc = state.capture.end(s.address());
        if (rc == 1) state.violation("cuStreamEndCapture without a capture");
        if (rc != 0) {
            putLong(out, 0);
            return rc;
        }
        newHandle(out, "graph");
        return 0;
    }

    static int cuGraphInstantiateWithFlags(MemorySegment out, MemorySegment graph, long flags) {
        newHandle(out, "exec");
        return live(graph, "graph", "cuGraphInstantiateWithFlags");
    }

    static int cuGraphLaunch(MemorySegment exec, MemorySegment stream) {
        state.needsContext("cuGraphLaunch");
        int rc = enqueue(stream, "cuGraphLaunch");
        if (rc != 0) return rc;
        state.graphLaunches.incrementAndGet();
        return live(exec, "exec", "cuGraphLaunch") | live(stream, "stream", "cuGraphLaunch");
    }

    static int cuGraphExecDestroy(MemorySegment exec) {
        return destroy(exec, "exec");
    }

    static int cuGraphDestroy(MemorySegment graph) {
        return destroy(graph, "graph");
    }

    // ---- cuDNN 9

    static long cudnnGetVersion() {
        return 90100;
    }

    static MemorySegment cudnnGetErrorString(int status) {
        return ERROR_TEXT;
    }

    static void cudnnGetLastErrorString(MemorySegment buf, long max) {
        buf.reinterpret(max).set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 0);
    }

    /** It allocates on the host and the device: a potentially unsafe call during capture. */
    static int cudnnCreate(MemorySegment out) {
        state.needsContext("cudnnCreate");
        if (unsafe("cudnnCreate") != 0) return 1001; // CUDNN_STATUS_NOT_INITIALIZED
        newHandle(out, "cudnn");
        return 0;
    }

    /** It calls cudaDeviceSynchronize (cuDNN's documentation): a wait for the whole context. */
    static int cudnnDestroy(MemorySegment h) {
        int rc = state.capture.contextWide("cudnnDestroy (cudaDeviceSynchronize)", context());
        return rc != 0 ? 5003 : destroy(h, "cudnn"); // CUDNN_STATUS_EXECUTION_FAILED_CUDART
    }

    static int cudnnSetStream(MemorySegment h, MemorySegment stream) {
        state.handleStreams.put(h.address(), stream.address());
        return live(h, "cudnn", "cudnnSetStream") | live(stream, "stream", "cudnnSetStream");
    }

    static int cudnnCreateTensorDescriptor(MemorySegment out) {
        newHandle(out, "tensor");
        return 0;
    }

    /** Kept as {format, type, n, c, h, w}. */
    static int cudnnSetTensor4dDescriptor(MemorySegment d, int format, int type, int n, int c, int h, int w) {
        state.descriptors.put(d.address(), new int[] {format, type, n, c, h, w});
        return live(d, "tensor", "cudnnSetTensor4dDescriptor");
    }

    static int cudnnDestroyTensorDescriptor(MemorySegment d) {
        return destroy(d, "tensor");
    }

    static int cudnnCreateFilterDescriptor(MemorySegment out) {
        newHandle(out, "filter");
        return 0;
    }

    /** Kept as {format, type, k, c, h, w}: note cuDNN's argument order, type before format. */
    static int cudnnSetFilter4dDescriptor(MemorySegment d, int type, int format, int k, int c, int h, int w) {
        state.descriptors.put(d.address(), new int[] {format, type, k, c, h, w});
        return live(d, "filter", "cudnnSetFilter4dDescriptor");
    }

    static int cudnnDestroyFilterDescriptor(MemorySegment d) {
        return destroy(d, "filter");
    }

    static int cudnnCreateConvolutionDescriptor(MemorySegment out) {
        newHandle(out, "conv");
        return 0;
    }

    /** Kept as {padH, padW, strideH, strideW, dilationH, dilationW, groups, mathType}. */
    static int cudnnSetConvolution2dDescriptor(MemorySegment d, int ph, int pw, int sh, int sw, int dh, int dw, int mode,
                                               int computeType) {
        if (computeType != Cudnn.CUDNN_DATA_FLOAT) state.violation("a convolution that does not accumulate in float");
        state.descriptors.put(d.address(), new int[] {ph, pw, sh, sw, dh, dw, 1, 0});
        return live(d, "conv", "cudnnSetConvolution2dDescriptor");
    }

    static int cudnnSetConvolutionGroupCount(MemorySegment d, int groups) {
        state.descriptors.get(d.address())[6] = groups;
        return 0;
    }

    static int cudnnSetConvolutionMathType(MemorySegment d, int math) {
        state.descriptors.get(d.address())[7] = math;
        return 0;
    }

    static int cudnnDestroyConvolutionDescriptor(MemorySegment d) {
        return destroy(d, "conv");
    }

    /**
     * cuDNN's ranking as the real one may give it: an FFT row (never acceptable), a row whose
     * reported math type is tensor ops whatever the descriptor says (FP32 must still run it with
     * FMA), one that allows down-conversion (never acceptable), and two plain ones.
     */
    static int cudnnGetConvolutionForwardAlgorithm_v7(MemorySegment h, MemorySegment x, MemorySegment w, MemorySegment conv,
                                                      MemorySegment y, int requested, MemorySegment count, MemorySegment perf) {
        int math = state.descriptors.get(conv.address())[7];
        int[][] rows = {{ConvAlgorithm.FFT, math}, {ConvAlgorithm.GEMM, Cudnn.CUDNN_TENSOR_OP_MATH},
                {ConvAlgorithm.IMPLICIT_PRECOMP_GEMM, Cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION},
                {ConvAlgorithm.IMPLICIT_PRECOMP_GEMM, math}, {ConvAlgorithm.IMPLICIT_GEMM, math}};
        int n = Math.min(requested, rows.length);
        putInt(count, n);
        MemorySegment p = perf.reinterpret(Cudnn.PERF_SIZE * n);
        for (int i = 0; i < n; i++) {
            long o = i * Cudnn.PERF_SIZE;
            p.set(JAVA_INT, o + Cudnn.PERF_ALGO, rows[i][0]);
            p.set(JAVA_INT, o + Cudnn.PERF_STATUS, 0);
            p.set(JAVA_LONG, o + Cudnn.PERF_MEMORY, 4096L * (i + 1));
            p.set(JAVA_INT, o + Cudnn.PERF_MATH, rows[i][1]);
        }
        return checkShapes(x, w, conv, y) ? 0 : 3; // CUDNN_STATUS_BAD_PARAM
    }

    static int cudnnGetConvolutionForwardWorkspaceSize(MemorySegment h, MemorySegment x, MemorySegment w, MemorySegment conv,
                                                       MemorySegment y, int algo, MemorySegment out) {
        putLong(out, 4096);
        return 0;
    }

    static int cudnnConvolutionForward(MemorySegment h, MemorySegment alpha, MemorySegment xd, MemorySegment x,
                                       MemorySegment wd, MemorySegment w, MemorySegment conv, int algo, MemorySegment ws,
                                       long wsBytes, MemorySegment beta, MemorySegment yd, MemorySegment y) {
        state.convolutions.incrementAndGet();
        state.needsContext("cudnnConvolutionForward");
        if (!checkShapes(xd, wd, conv, yd)) return 3;
        long stream = state.handleStreams.getOrDefault(h.address(), 0L);
        if (enqueue(MemorySegment.ofAddress(stream), "cudnnConvolutionForward") != 0) return 5001; // EXECUTION_FAILED_CUDA_DRIVER
        int planted = state.capture.capturing(stream) ? 0 : planted("cudnn algorithm " + algo);
        if (planted != 0) return planted;
        if (state.lost != 0) return 5001;
        state.mathByAlgorithm.computeIfAbsent(algo, a -> ConcurrentHashMap.newKeySet()).add(state.descriptors.get(conv.address())[7]);
        state.readsLanded("cudnnConvolutionForward x", x.address(), bytes(xd), stream);
        state.onCurrentDevice("cudnnConvolutionForward x", x.address());
        state.onCurrentDevice("cudnnConvolutionForward y", y.address());
        state.readsLanded("cudnnConvolutionForward w", w.address(), bytes(wd), stream);
        int bad = checkDevice("cudnnConvolutionForward x", x.address(), bytes(xd))
                | checkDevice("cudnnConvolutionForward w", w.address(), bytes(wd))
                | checkDevice("cudnnConvolutionForward y", y.address(), bytes(yd))
                | (wsBytes > 0 ? checkDevice("cudnnConvolutionForward workspace", ws.address(), wsBytes) : 0);
        if (x.address() == y.address()) state.violation("cudnnConvolutionForward in place");
        return bad == 0 ? 0 : 3;
    }

    private static long bytes(MemorySegment descriptor) {
        int[] d = state.descriptors.get(descriptor.address());
        int size = d[1] == StorageType.F32.cudnnType ? 4 : 2;
        return (long) size * d[2] * d[3] * d[4] * d[5];
    }

    /** The output descriptor is what the input, filter and convolution make; types and formats agree. */
    private static boolean checkShapes(MemorySegment xd, MemorySegment wd, MemorySegment cd, MemorySegment yd) {
        int[] x = state.descriptors.get(xd.address()), w = state.descriptors.get(wd.address()),
                c = state.descriptors.get(cd.address()), y = state.descriptors.get(yd.address());
        if (x == null || w == null || c == null || y == null) {
            state.violation("a convolution with an unset descriptor");
            return false;
        }
        int oh = (x[4] + 2 * c[0] - c[4] * (w[4] - 1) - 1) / c[2] + 1, ow = (x[5] + 2 * c[1] - c[5] * (w[5] - 1) - 1) / c[3] + 1;
        boolean ok = x[0] == w[0] && x[0] == y[0] && x[1] == w[1] && x[1] == y[1] && w[3] * c[6] == x[3] && w[2] == y[3]
                && y[2] == x[2] && y[4] == oh && y[5] == ow && x[2] > 0;
        if (!ok) {
            state.violation("inconsistent convolution: x " + java.util.Arrays.toString(x) + " w " + java.util.Arrays.toString(w)
                    + " conv " + java.util.Arrays.toString(c) + " y " + java.util.Arrays.toString(y));
        }
        return ok;
    }
}
