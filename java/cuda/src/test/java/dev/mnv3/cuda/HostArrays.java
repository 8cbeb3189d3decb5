package dev.mnv3.cuda;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.mnv3.cuda.plan.StorageType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.TreeMap;

/**
 * Host memory standing in for device memory where the kernels run on the CPU emulation
 * ({@link EmulatedKernels}): a "device pointer" is a host address. As {@link DeviceArrays} on a
 * GPU, every array is poisoned with NaN (an element a kernel does not write stays NaN) and followed
 * by a NaN guard zone (a write past the end shows in {@link #guardIntact}); arrays are 256-byte
 * aligned, as cuMemAlloc's are. Freed on close.
 */
final class HostArrays implements AutoCloseable {
    static final int GUARD_BYTES = 256;

    private final Arena arena = Arena.ofConfined();
    private final TreeMap<Long, Poisoned> arrays = new TreeMap<>();

    /** An allocation and the 32-bit NaN pattern it was filled with. */
    private record Poisoned(MemorySegment memory, int pattern) {
    }

    /** n floats, all NaN, plus the guard zone. */
    long poisoned(int n) {
        return poisoned(4L * n, Float.floatToRawIntBits(Float.NaN));
    }

    /** n values of 16-bit {@code s}, all NaN, plus the guard zone. */
    long poisoned(StorageType s, int n) {
        int nan = s.encode(Float.NaN) & 0xffff;
        return poisoned(2L * n, nan << 16 | nan);
    }

    private long poisoned(long bytes, int pattern) {
        MemorySegment m = arena.allocate((bytes + 3) / 4 * 4 + GUARD_BYTES, 256);
        for (long i = 0; i < m.byteSize() / 4; i++) m.setAtIndex(JAVA_INT, i, pattern);
        arrays.put(m.address(), new Poisoned(m, pattern));
        return m.address();
    }

    long upload(float[] data) {
        long p = poisoned(data.length);
        MemorySegment.copy(data, 0, array(p, 4L * data.length), JAVA_FLOAT, 0, data.length);
        return p;
    }

    /** {@code data} rounded to nearest even in 16-bit {@code s}. */
    long upload(StorageType s, float[] data) {
        long p = poisoned(s, data.length);
        MemorySegment m = array(p, 2L * data.length);
        for (int i = 0; i < data.length; i++) m.setAtIndex(JAVA_SHORT, i, s.encode(data[i]));
        return p;
    }

    long uploadBytes(byte[] data) {
        long p = poisoned((data.length + 3) / 4);
        MemorySegment.copy(data, 0, array(p, data.length), JAVA_BYTE, 0, data.length);
        return p;
    }

    /** A copy of {@code host} (e.g. a packed table of offsets and weights). */
    long upload(MemorySegment host) {
        long p = poisoned((int) ((host.byteSize() + 3) / 4));
        array(p, host.byteSize()).copyFrom(host);
        return p;
    }

    float[] download(long p, int n) {
        return array(p, 4L * n).toArray(JAVA_FLOAT);
    }

    float[] download(StorageType s, long p, int n) {
        MemorySegment m = array(p, 2L * n);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = s.decode(m.getAtIndex(JAVA_SHORT, i));
        return out;
    }

    /** True when the guard zone after n floats at p is still all NaN. */
    boolean guardIntact(long p, int n) {
        return guardIntact(p, 4L * n);
    }

    /** True when the guard zone after n 16-bit values at p is still all NaN. */
    boolean guardIntact(StorageType s, long p, int n) {
        return guardIntact(p, 2L * n);
    }

    private boolean guardIntact(long p, long bytes) {
        Poisoned a = arrays.get(p);
        if (a == null) throw new IllegalArgumentException("0x" + Long.toHexString(p) + " is not the start of an array");
        for (long i = (bytes + 3) / 4; i < a.memory.byteSize() / 4; i++) {
            if (a.memory.getAtIndex(JAVA_INT, i) != a.pattern) return false;
        }
        return true;
    }

    /** {@code bytes} from p, which must lie inside one array. */
    private MemorySegment array(long p, long bytes) {
        Map.Entry<Long, Poisoned> e = arrays.floorEntry(p);
        if (e == null || p - e.getKey() + bytes > e.getValue().memory.byteSize()) {
            throw new IllegalArgumentException(bytes + " bytes at 0x" + Long.toHexString(p) + " are not inside one array");
        }
        return e.getValue().memory.asSlice(p - e.getKey(), bytes);
    }

    @Override
    public void close() {
        arena.close();
    }
}
