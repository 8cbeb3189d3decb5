package dev.mnv3.core.tensor;

import java.lang.foreign.Arena;

/**
 * A host tensor a model hands out for its inputs ({@code CompiledModel.allocateHost}): on the CUDA
 * backend pinned (page-locked) memory, which the GPU reads by DMA with no staging copy; elsewhere
 * plain off-heap memory. Fill {@link #tensor()}'s segment, pass the tensor to {@code run}, close the
 * buffer when done.
 */
public final class HostTensor implements AutoCloseable {
    private final Tensor tensor;
    private final Runnable free;
    private boolean closed;

    public HostTensor(Tensor tensor, Runnable free) {
        if (tensor.segment() == null) throw new IllegalArgumentException("a host tensor lives off-heap");
        this.tensor = tensor;
        this.free = free;
    }

    /** Plain off-heap memory, for backends that copy from anywhere alike. */
    public static HostTensor offHeap(DType type, int... shape) {
        long bytes = Math.multiplyExact(Tensor.numel(shape), (long) type.bytes);
        Arena arena = Arena.ofShared();
        return new HostTensor(Tensor.ofSegment(type, shape, arena.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes)),
                arena::close);
    }

    public Tensor tensor() {
        if (closed) throw new IllegalStateException("this host tensor is closed");
        return tensor;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        free.run();
    }
}
