package dev.mnv3.cuda.exec;

import dev.mnv3.core.backend.CudaSettings;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.cuda.plan.KernelChoice;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.Set;

/**
 * What every lane of one model shares; the weights outlive every lane. {@code cudnn} is null
 * when the model runs on our kernels alone; {@code settings} say who may run each conv kind and
 * whether every step is synchronized and checked (debug);
 * {@code decisions} are the keys of the {@link Tuning} notes this model's plans used, in order;
 * {@code debug} syncs and checks after every step.
 */
public record ModelResources(CudaRuntime runtime, Precision precision, CudaRuntime.LoadedCudnn cudnn, DeviceWeights weights,
                             MemorySegment[] alphaBeta, Set<Object> decisions, CudaSettings settings,
                             boolean graphs) {
    public Map<ConvAlgorithm.Key, ConvAlgorithm.Choice> algorithms() {
        return runtime.tuning.algorithms;
    }

    public Map<ConvAlgorithm.Key, KernelChoice.Impl> choices() {
        return runtime.tuning.kernels;
    }
}
