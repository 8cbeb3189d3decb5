package dev.mnv3.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

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
        long bytes = layout.totalFloats() * Float.BYTES;
        try (Arena staging = Arena.ofConfined()) {
            MemorySegment host = staging.allocate(bytes, 256);
            for (WeightLayout.Entry e : layout.entries().values()) {
                MemorySegment.copy(e.data(), 0, host, JAVA_FLOAT, e.offset() * Float.BYTES, e.data().length);
            }
            base = driver.memAlloc(bytes);
            driver.copyHtoD(base, host, bytes);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Device address of the array called {@code key} (see {@link WeightLayout}). */
    long pointer(String key) {
        return base + layout.offset(key) * Float.BYTES;
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
