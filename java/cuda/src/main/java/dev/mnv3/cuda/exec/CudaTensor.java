package dev.mnv3.cuda.exec;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.DeviceTensor;
import dev.mnv3.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A tensor in one GPU's memory ({@code CudaModel.allocate}), its own allocation. Copies in and
 * out are synchronous, on the runtime's own stream: a model's calls that write it return once it
 * is written, so a copy out after them sees it, and no copy waits for other lanes' work (nor
 * breaks their graph captures). Closing frees it; closing twice is harmless, using it after close
 * is an error.
 */
public final class CudaTensor implements DeviceTensor {
    private final CudaRuntime runtime;
    private final int[] shape;
    private final DType dtype;
    private final long bytes;
    private long pointer;

    public CudaTensor(CudaRuntime runtime, DType dtype, int[] shape) {
        this.runtime = runtime;
        this.shape = shape.clone();
        this.dtype = dtype;
        this.bytes = Math.multiplyExact(Tensor.numel(shape), (long) dtype.bytes);
        if (bytes == 0) throw new IllegalArgumentException("an empty device tensor " + Tensor.shapeString(shape));
        this.pointer = PlatformThreads.call(() -> {
            runtime.makeCurrent();
            return runtime.driver.memAlloc(bytes);
        });
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public int device() {
        return runtime.info().ordinal();
    }

    public CudaRuntime runtime() {
        return runtime;
    }

    public long pointer() {
        if (pointer == 0) throw new IllegalStateException("this device tensor is closed");
        return pointer;
    }

    public long bytes() {
        return bytes;
    }

    @Override
    public void copyFrom(Tensor host) {
        if (host.dtype() != dtype || !Arrays.equals(host.shape(), shape)) {
            throw new IllegalArgumentException("a " + host.dtype() + " " + host.shapeString() + " tensor does not fit the device "
                    + "tensor " + dtype + " " + Tensor.shapeString(shape));
        }
        long p = pointer();
        PlatformThreads.run(() -> {
            runtime.makeCurrent();
            try (Arena a = Arena.ofConfined()) {
                MemorySegment staging = a.allocate(bytes, 64);
                switch (dtype) {
                    case F32 -> MemorySegment.copy(host.data(), 0, staging, JAVA_FLOAT, 0, host.size());
                    case F16, BF16 -> MemorySegment.copy(host.halves(), 0, staging, JAVA_SHORT, 0, host.size());
                    case U8 -> MemorySegment.copy(host.bytes(), 0, staging, JAVA_BYTE, 0, host.size());
                    default -> throw new IllegalStateException("no device tensors of " + dtype);
                }
                runtime.upload(p, staging, bytes);
            }
        });
    }

    @Override
    public Tensor toHost() {
        long p = pointer();
        return PlatformThreads.call(() -> {
            runtime.makeCurrent();
            try (Arena a = Arena.ofConfined()) {
                MemorySegment staging = a.allocate(bytes, 64);
                runtime.download(staging, p, bytes);
                int n = Math.toIntExact(Tensor.numel(shape));
                return switch (dtype) {
                    case F32 -> new Tensor(shape, staging.toArray(JAVA_FLOAT));
                    case F16, BF16 -> Tensor.ofHalves(dtype, shape, staging.asSlice(0, 2L * n).toArray(JAVA_SHORT));
                    case U8 -> Tensor.ofBytes(shape, staging.toArray(JAVA_BYTE));
                    default -> throw new IllegalStateException("no device tensors of " + dtype);
                };
            }
        });
    }

    @Override
    public synchronized void close() {
        if (pointer == 0) return;
        long p = pointer;
        pointer = 0;
        PlatformThreads.run(() -> {
            runtime.makeCurrent();
            runtime.driver.memFree(p);
        });
    }

    @Override
    public String toString() {
        return "DeviceTensor" + Tensor.shapeString(shape) + " " + dtype + " on device " + device();
    }
}
