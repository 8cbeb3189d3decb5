package dev.mnv3.cuda.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The CUDA driver API functions mnv3 uses, bound with the FFM API. The {@code _v2} symbols are the
 * 64-bit ABI (the unversioned ones are the old 32-bit entry points kept for binary compatibility).
 * Every call checks its CUresult and throws {@link CudaException} with the driver's own name and
 * description of the error. Device pointers are {@code long}; handles are {@link MemorySegment}s.
 * The calling thread must have the context current ({@code exec.CudaRuntime.makeCurrent()}).
 */
public final class CudaDriver {
    public static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    public static final int CU_STREAM_NON_BLOCKING = 1;
    public static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;

    private final MethodHandle cuGetErrorName, cuGetErrorString, cuInit, cuDriverGetVersion, cuDeviceGetCount,
            cuDeviceGet, cuDeviceGetName, cuDeviceGetAttribute, cuDeviceTotalMem, cuDevicePrimaryCtxRetain, cuCtxSetCurrent,
            cuMemGetInfo, cuMemAlloc, cuMemFree, cuMemAllocHost, cuMemFreeHost, cuMemcpyHtoDAsync, cuMemcpyDtoHAsync,
            cuMemcpyDtoDAsync, cuMemsetD32Async, cuStreamCreate, cuStreamDestroy,
            cuStreamSynchronize, cuModuleLoadData, cuModuleUnload, cuModuleGetFunction, cuLaunchKernel, cuEventCreate,
            cuEventRecord, cuEventSynchronize, cuEventElapsedTime, cuEventDestroy, cuStreamBeginCapture,
            cuStreamEndCapture, cuGraphInstantiateWithFlags, cuGraphLaunch, cuGraphExecDestroy, cuGraphDestroy;

    public CudaDriver(SymbolLookup lib) {
        Ffm.Binder b = new Ffm.Binder(lib, LibraryLocator.DRIVER);
        cuGetErrorName = b.bind("cuGetErrorName", JAVA_INT, JAVA_INT, ADDRESS);
        cuGetErrorString = b.bind("cuGetErrorString", JAVA_INT, JAVA_INT, ADDRESS);
        cuInit = b.bind("cuInit", JAVA_INT, JAVA_INT);
        cuDriverGetVersion = b.bind("cuDriverGetVersion", JAVA_INT, ADDRESS);
        cuDeviceGetCount = b.bind("cuDeviceGetCount", JAVA_INT, ADDRESS);
        cuDeviceGet = b.bind("cuDeviceGet", JAVA_INT, ADDRESS, JAVA_INT);
        cuDeviceGetName = b.bind("cuDeviceGetName", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceGetAttribute = b.bind("cuDeviceGetAttribute", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceTotalMem = b.bind("cuDeviceTotalMem_v2", JAVA_INT, ADDRESS, JAVA_INT);
        cuDevicePrimaryCtxRetain = b.bind("cuDevicePrimaryCtxRetain", JAVA_INT, ADDRESS, JAVA_INT);
        cuCtxSetCurrent = b.bind("cuCtxSetCurrent", JAVA_INT, ADDRESS);
        cuMemGetInfo = b.bind("cuMemGetInfo_v2", JAVA_INT, ADDRESS, ADDRESS);
        cuMemAlloc = b.bind("cuMemAlloc_v2", JAVA_INT, ADDRESS, JAVA_LONG);
        cuMemFree = b.bind("cuMemFree_v2", JAVA_INT, JAVA_LONG);
        cuMemAllocHost = b.bind("cuMemAllocHost_v2", JAVA_INT, ADDRESS, JAVA_LONG);
        cuMemFreeHost = b.bind("cuMemFreeHost", JAVA_INT, ADDRESS);
        cuMemcpyHtoDAsync = b.bind("cuMemcpyHtoDAsync_v2", JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
        cuMemcpyDtoHAsync = b.bind("cuMemcpyDtoHAsync_v2", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemcpyDtoDAsync = b.bind("cuMemcpyDtoDAsync_v2", JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemsetD32Async = b.bind("cuMemsetD32Async", JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS);
        cuStreamCreate = b.bind("cuStreamCreate", JAVA_INT, ADDRESS, JAVA_INT);
        cuStreamDestroy = b.bind("cuStreamDestroy_v2", JAVA_INT, ADDRESS);
        cuStreamSynchronize = b.bind("cuStreamSynchronize", JAVA_INT, ADDRESS);
        cuModuleLoadData = b.bind("cuModuleLoadData", JAVA_INT, ADDRESS, ADDRESS);
        cuModuleUnload = b.bind("cuModuleUnload", JAVA_INT, ADDRESS);
        cuModuleGetFunction = b.bind("cuModuleGetFunction", JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        cuLaunchKernel = b.bind("cuLaunchKernel", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        cuEventCreate = b.bind("cuEventCreate", JAVA_INT, ADDRESS, JAVA_INT);
        cuEventRecord = b.bind("cuEventRecord", JAVA_INT, ADDRESS, ADDRESS);
        cuEventSynchronize = b.bind("cuEventSynchronize", JAVA_INT, ADDRESS);
        // cuEventElapsedTime_v2 appeared in driver 12.8; older drivers only have the original
        cuEventElapsedTime = b.find("cuEventElapsedTime_v2", JAVA_INT, ADDRESS, ADDRESS, ADDRESS)
                .orElseGet(() -> b.bind("cuEventElapsedTime", JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        cuEventDestroy = b.bind("cuEventDestroy_v2", JAVA_INT, ADDRESS);
        cuStreamBeginCapture = b.bind("cuStreamBeginCapture_v2", JAVA_INT, ADDRESS, JAVA_INT);
        cuStreamEndCapture = b.bind("cuStreamEndCapture", JAVA_INT, ADDRESS, ADDRESS);
        cuGraphInstantiateWithFlags = b.bind("cuGraphInstantiateWithFlags", JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG);
        cuGraphLaunch = b.bind("cuGraphLaunch", JAVA_INT, ADDRESS, ADDRESS);
        cuGraphExecDestroy = b.bind("cuGraphExecDestroy", JAVA_INT, ADDRESS);
        cuGraphDestroy = b.bind("cuGraphDestroy", JAVA_INT, ADDRESS);
    }

    // ---- errors

    public void check(String call, int result) {
        if (result != 0) throw error(call, result);
    }

    public CudaException error(String call, int result) {
        return new CudaException(call, result, errorText(cuGetErrorName, result), errorText(cuGetErrorString, result));
    }

    /** cuGetErrorName / cuGetErrorString; null for a code the driver does not know. */
    private static String errorText(MethodHandle h, int result) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            int rc = Ffm.call(() -> (int) h.invokeExact(result, out));
            return rc == 0 ? Ffm.string(out.get(ADDRESS, 0)) : null;
        }
    }

    // ---- initialization and devices

    /** cuInit's raw result: the caller turns "no device" into an availability message. */
    public int init() {
        return Ffm.call(() -> (int) cuInit.invokeExact(0));
    }

    public int driverVersion() {
        return outInt("cuDriverGetVersion", out -> (int) cuDriverGetVersion.invokeExact(out));
    }

    public int deviceCount() {
        return outInt("cuDeviceGetCount", out -> (int) cuDeviceGetCount.invokeExact(out));
    }

    public int device(int ordinal) {
        return outInt("cuDeviceGet", out -> (int) cuDeviceGet.invokeExact(out, ordinal));
    }

    public int attribute(int attribute, int device) {
        return outInt("cuDeviceGetAttribute", out -> (int) cuDeviceGetAttribute.invokeExact(out, attribute, device));
    }

    public String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment name = a.allocate(256);
            check("cuDeviceGetName", Ffm.call(() -> (int) cuDeviceGetName.invokeExact(name, 256, device)));
            return name.getString(0);
        }
    }

    /** Device memory in bytes (no context needed). */
    public long totalMemory(int device) {
        return Ffm.outLong(this::check, "cuDeviceTotalMem_v2", out -> (int) cuDeviceTotalMem.invokeExact(out, device));
    }

    /** The device's primary context: the one cuDNN's runtime API also uses. Never released. */
    public MemorySegment retainPrimaryContext(int device) {
        return outAddress("cuDevicePrimaryCtxRetain", out -> (int) cuDevicePrimaryCtxRetain.invokeExact(out, device));
    }

    public void setCurrent(MemorySegment context) {
        check("cuCtxSetCurrent", Ffm.call(() -> (int) cuCtxSetCurrent.invokeExact(context)));
    }

    /** {free, total} device memory in bytes. */
    public long[] memInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG), total = a.allocate(JAVA_LONG);
            check("cuMemGetInfo_v2", Ffm.call(() -> (int) cuMemGetInfo.invokeExact(free, total)));
            return new long[] {free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        }
    }

    // ---- memory

    public long memAlloc(long bytes) {
        return Ffm.outLong(this::check, "cuMemAlloc_v2", out -> (int) cuMemAlloc.invokeExact(out, bytes));
    }

    public void memFree(long pointer) {
        check("cuMemFree_v2", Ffm.call(() -> (int) cuMemFree.invokeExact(pointer)));
    }

    /** Page-locked host memory, so that copies are true DMA and can run asynchronously. */
    @SuppressWarnings("restricted") // the driver just gave us exactly this many bytes
    public MemorySegment memAllocHost(long bytes) {
        MemorySegment p = outAddress("cuMemAllocHost_v2", out -> (int) cuMemAllocHost.invokeExact(out, bytes));
        return p.reinterpret(bytes);
    }

    public void memFreeHost(MemorySegment host) {
        check("cuMemFreeHost", Ffm.call(() -> (int) cuMemFreeHost.invokeExact(host)));
    }

    /**
     * Copies host memory to the device on {@code stream} and waits for that stream alone: the
     * data has landed when this returns, for work on any stream enqueued after. Never the
     * synchronous copy on the legacy stream, nor a context-wide wait: while another lane captures
     * a CUDA graph those would fail and invalidate its capture. {@code stream} must not be capturing.
     */
    public void upload(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        copyHtoDAsync(dst, src, bytes, stream);
        streamSynchronize(stream);
    }

    /** Copies device memory to the host on {@code stream}, after what that stream already holds, and waits for it. */
    public void download(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        copyDtoHAsync(dst, src, bytes, stream);
        streamSynchronize(stream);
    }

    public void copyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        check("cuMemcpyHtoDAsync_v2", Ffm.call(() -> (int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream)));
    }

    public void copyDtoHAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        check("cuMemcpyDtoHAsync_v2", Ffm.call(() -> (int) cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream)));
    }

    public void copyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
        check("cuMemcpyDtoDAsync_v2", Ffm.call(() -> (int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream)));
    }

    /** Fills {@code count} 32-bit words, e.g. with a NaN pattern to poison outputs in tests. */
    public void memsetD32Async(long dst, int value, long count, MemorySegment stream) {
        check("cuMemsetD32Async", Ffm.call(() -> (int) cuMemsetD32Async.invokeExact(dst, value, count, stream)));
    }

    // ---- streams, modules, launches

    public MemorySegment streamCreate() {
        return outAddress("cuStreamCreate", out -> (int) cuStreamCreate.invokeExact(out, CU_STREAM_NON_BLOCKING));
    }

    public void streamDestroy(MemorySegment stream) {
        check("cuStreamDestroy_v2", Ffm.call(() -> (int) cuStreamDestroy.invokeExact(stream)));
    }

    public void streamSynchronize(MemorySegment stream) {
        check("cuStreamSynchronize", Ffm.call(() -> (int) cuStreamSynchronize.invokeExact(stream)));
    }

    /** Loads a fatbin; the driver picks the SASS for this GPU or JIT-compiles the PTX. */
    public MemorySegment moduleLoadData(MemorySegment image) {
        return outAddress("cuModuleLoadData", out -> (int) cuModuleLoadData.invokeExact(out, image));
    }

    public void moduleUnload(MemorySegment module) {
        check("cuModuleUnload", Ffm.call(() -> (int) cuModuleUnload.invokeExact(module)));
    }

    public MemorySegment moduleFunction(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cname = a.allocateFrom(name);
            return outAddress("cuModuleGetFunction(" + name + ")",
                    out -> (int) cuModuleGetFunction.invokeExact(out, module, cname));
        }
    }

    /** {@code params} is the array of pointers to argument values that {@link KernelArgs} packs. */
    public void launch(String kernel, MemorySegment function, int gridX, int gridY, int gridZ, int blockX, int blockY,
                       int sharedBytes, MemorySegment stream, MemorySegment params) {
        int rc = Ffm.call(() -> (int) cuLaunchKernel.invokeExact(function, gridX, gridY, gridZ, blockX, blockY, 1, sharedBytes,
                stream, params, MemorySegment.NULL));
        check("cuLaunchKernel(" + kernel + ")", rc);
    }

    // ---- events (device-side timing)

    public MemorySegment eventCreate() {
        return outAddress("cuEventCreate", out -> (int) cuEventCreate.invokeExact(out, 0));
    }

    public void eventRecord(MemorySegment event, MemorySegment stream) {
        check("cuEventRecord", Ffm.call(() -> (int) cuEventRecord.invokeExact(event, stream)));
    }

    public void eventSynchronize(MemorySegment event) {
        check("cuEventSynchronize", Ffm.call(() -> (int) cuEventSynchronize.invokeExact(event)));
    }

    public float eventElapsedMillis(MemorySegment start, MemorySegment end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_FLOAT);
            check("cuEventElapsedTime", Ffm.call(() -> (int) cuEventElapsedTime.invokeExact(out, start, end)));
            return out.get(JAVA_FLOAT, 0);
        }
    }

    public void eventDestroy(MemorySegment event) {
        check("cuEventDestroy_v2", Ffm.call(() -> (int) cuEventDestroy.invokeExact(event)));
    }

    // ---- CUDA graphs: record one forward pass, replay it with a single launch

    /**
     * Thread-local mode: the calls the driver deems unsafe during a capture (allocations and frees
     * among them) fail only on the capturing thread, so other lanes may build plans meanwhile.
     * Calls that synchronize the whole context fail during any capture, in every mode.
     */
    public void beginCapture(MemorySegment stream) {
        check("cuStreamBeginCapture_v2",
                Ffm.call(() -> (int) cuStreamBeginCapture.invokeExact(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)));
    }

    public MemorySegment endCapture(MemorySegment stream) {
        return outAddress("cuStreamEndCapture", out -> (int) cuStreamEndCapture.invokeExact(stream, out));
    }

    public MemorySegment instantiate(MemorySegment graph) {
        return outAddress("cuGraphInstantiateWithFlags", out -> (int) cuGraphInstantiateWithFlags.invokeExact(out, graph, 0L));
    }

    public void graphLaunch(MemorySegment exec, MemorySegment stream) {
        check("cuGraphLaunch", Ffm.call(() -> (int) cuGraphLaunch.invokeExact(exec, stream)));
    }

    public void graphExecDestroy(MemorySegment exec) {
        check("cuGraphExecDestroy", Ffm.call(() -> (int) cuGraphExecDestroy.invokeExact(exec)));
    }

    public void graphDestroy(MemorySegment graph) {
        check("cuGraphDestroy", Ffm.call(() -> (int) cuGraphDestroy.invokeExact(graph)));
    }

    private int outInt(String name, Ffm.OutCall c) {
        return Ffm.outInt(this::check, name, c);
    }

    private MemorySegment outAddress(String name, Ffm.OutCall c) {
        return Ffm.outAddress(this::check, name, c);
    }
}
