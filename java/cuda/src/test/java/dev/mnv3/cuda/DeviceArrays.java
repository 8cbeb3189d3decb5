package dev.mnv3.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import dev.mnv3.cuda.exec.CudaRuntime;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.plan.StorageType;

/**
 * Device arrays for the GPU tests on one stream: upload, allocate poisoned with NaN (so that an
 * element a kernel fails to write shows up as NaN), download, every copy ordered on the stream. Every array carries a NaN guard
 * zone after its end, which {@link #guardIntact} checks, to catch writes past the end.
 */
final class DeviceArrays implements AutoCloseable {
    static final int NAN_BITS = 0x7FC00000;
    static final int GUARD = 64;

    final CudaRuntime runtime = CudaRuntime.get();
    final CudaDriver driver = runtime.driver;
    final Arena args = Arena.ofConfined();
    final MemorySegment stream;
    private final List<Long> allocations = new ArrayList<>();

    DeviceArrays() {
        runtime.makeCurrent();
        stream = driver.streamCreate();
    }

    /** n floats, all NaN, plus the guard zone. */
    long poisoned(int n) {
        long p = driver.memAlloc((long) (n + GUARD) * Float.BYTES);
        allocations.add(p);
        driver.memsetD32Async(p, NAN_BITS, n + GUARD, stream);
        return p;
    }

    long upload(float[] data) {
        long p = poisoned(data.length); // the poison, then the data over it: both on the stream, in order
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(JAVA_FLOAT, data.length);
            MemorySegment.copy(data, 0, host, JAVA_FLOAT, 0, data.length);
            driver.upload(p, host, (long) data.length * Float.BYTES, stream);
        }
        return p;
    }

    float[] download(long p, int n) {
        float[] out = new float[n];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(JAVA_FLOAT, n);
            driver.download(host, p, (long) n * Float.BYTES, stream);
            MemorySegment.copy(host, JAVA_FLOAT, 0, out, 0, n);
        }
        return out;
    }

    /** Bytes (U8 images), without poison or guard. */
    long uploadBytes(byte[] data) {
        long p = driver.memAlloc(data.length);
        allocations.add(p);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(data.length);
            MemorySegment.copy(data, 0, host, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, data.length);
            driver.upload(p, host, data.length, stream);
        }
        return p;
    }

    // ---- 16-bit arrays (FP16/BF16 storage), poisoned with the type's NaN

    /** n values of {@code s}, all NaN, plus a guard zone of 2 * GUARD values. */
    long poisoned(StorageType s, int n) {
        int words = (n + 1) / 2 + GUARD;
        long p = driver.memAlloc((long) words * Float.BYTES);
        allocations.add(p);
        int nan = s.encode(Float.NaN) & 0xffff;
        driver.memsetD32Async(p, nan << 16 | nan, words, stream);
        return p;
    }

    long upload(StorageType s, float[] data) {
        long p = poisoned(s, data.length);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(JAVA_SHORT, data.length);
            for (int i = 0; i < data.length; i++) host.setAtIndex(JAVA_SHORT, i, s.encode(data[i]));
            driver.upload(p, host, 2L * data.length, stream);
        }
        return p;
    }

    float[] download(StorageType s, long p, int n) {
        float[] out = new float[n];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(JAVA_SHORT, n);
            driver.download(host, p, 2L * n, stream);
            for (int i = 0; i < n; i++) out[i] = s.decode(host.getAtIndex(JAVA_SHORT, i));
        }
        return out;
    }

    /** True when the 2 * GUARD values of {@code s} after element n of p are still NaN. */
    boolean guardIntact(StorageType s, long p, int n) {
        float[] all = download(s, p, n + 2 * GUARD);
        for (int i = n; i < all.length; i++) {
            if (!Float.isNaN(all[i])) return false;
        }
        return true;
    }

    /** True when the GUARD floats after element n of p are still NaN. */
    boolean guardIntact(long p, int n) {
        float[] all = download(p, n + GUARD);
        for (int i = n; i < n + GUARD; i++) {
            if (Float.floatToRawIntBits(all[i]) != NAN_BITS) return false;
        }
        return true;
    }

    @Override
    public void close() {
        driver.streamSynchronize(stream);
        for (long p : allocations) driver.memFree(p);
        driver.streamDestroy(stream);
        args.close();
    }
}
