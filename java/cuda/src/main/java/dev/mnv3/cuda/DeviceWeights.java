package dev.mnv3.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A {@link WeightLayout} uploaded once into one device allocation, read by every run. */
final class DeviceWeights implements AutoCloseable {
    private final CudaDriver driver;
    private final WeightLayout layout;
    private long base;

    DeviceWeights(CudaDriver driver, WeightLayout layout) {
        this.driver = driver;
        this.layout = layout;
        long bytes = layout.totalBytes();
        try (Arena staging = Arena.ofConfined()) {
            MemorySegment host = staging.allocate(bytes, 256);
            for (WeightLayout.Entry e : layout.entries().values()) write(host, e);
            base = driver.memAlloc(bytes);
            driver.upload(base, host, bytes);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Writes {@code e} into the staging image, converted to its storage type (rounded to nearest even). */
    static void write(MemorySegment host, WeightLayout.Entry e) {
        float[] d = e.data();
        if (e.type() == Storage.F32) {
            MemorySegment.copy(d, 0, host, JAVA_FLOAT, e.offset(), d.length);
        } else {
            for (int i = 0; i < d.length; i++) host.set(JAVA_SHORT, e.offset() + 2L * i, e.type().encode(d[i]));
        }
    }

    /** Device address of the array called {@code key} (see {@link WeightLayout}). */
    long pointer(String key) {
        return base + layout.offset(key);
    }

    @Override
    public void close() {
        if (base != 0) {
            long b = base;
            base = 0;
            driver.memFree(b);
        }
    }
}
