package dev.mnv3.core.tensor;

/**
 * A tensor in a GPU's memory, allocated by {@code CompiledModel.allocate} on the model's device:
 * it stays there between calls, so chained models and pipelines skip the copies through host
 * memory. Close it to free the memory.
 */
public interface DeviceTensor extends AutoCloseable {
    int[] shape();

    DType dtype();

    /** The GPU it lives on. */
    int device();

    /** Copies {@code host} (same shape and type) in; returns once it is there. */
    void copyFrom(Tensor host);

    /** Copies the tensor out, after whatever the device was doing has finished. */
    Tensor toHost();

    @Override
    void close();
}
