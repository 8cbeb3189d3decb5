package dev.mnv3.cuda.exec;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.plan.StorageType;
import dev.mnv3.cuda.plan.WeightLayout;

/** A {@link WeightLayout} uploaded once into one device allocation (on the runtime's own stream), read by every run. */
public final class DeviceWeights implements AutoCloseable {
    private final CudaDriver driver;
    private final WeightLayout layout;
    private long base;

    public DeviceWeights(CudaRuntime runtime, WeightLayout layout) {
        this.driver = runtime.driver;
        this.layout = layout;
        long bytes = layout.totalBytes();
        try (Arena staging = Arena.ofConfined()) {
            MemorySegment host = staging.allocate(bytes, 256);
            for (WeightLayout.Entry e : layout.entries().values()) write(host, e);
            base = driver.memAlloc(bytes);
            runtime.upload(base, host, bytes);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Writes {@code e} into the staging image, converted to its storage type (rounded to nearest even). */
    public static void write(MemorySegment host, WeightLayout.Entry e) {
        float[] d = e.data();
        if (e.type() == StorageType.F32) {
            MemorySegment.copy(d, 0, host, JAVA_FLOAT, e.offset(), d.length);
        } else {
            for (int i = 0; i < d.length; i++) host.set(JAVA_SHORT, e.offset() + 2L * i, e.type().encode(d[i]));
        }
    }

    /** The layout these weights were uploaded in: where each node's arrays are. */
    public WeightLayout layout() {
        return layout;
    }

    /** Device address of the array at {@code offset} (a {@link WeightLayout} slot). */
    public long address(long offset) {
        if (offset < 0 || offset >= layout.totalBytes()) throw new IllegalArgumentException("no weight array at offset " + offset);
        return base + offset;
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
