package dev.mnv3.spark;

import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * The GPU a task runs on: the first address Spark assigned to the task as its "gpu" resource
 * (spark.executor.resource.gpu.amount with a discovery script; spark.task.resource.gpu.amount=0.25
 * lets four tasks share one GPU), else the device the job asked for.
 */
final class TaskDevice {
    private TaskDevice() {
    }

    static int of(TaskContext task, int requested) {
        if (task == null) return requested;
        ResourceInformation gpu = task.resources().get("gpu").getOrElse(() -> null);
        if (gpu == null || gpu.addresses().length == 0) return requested;
        String address = gpu.addresses()[0];
        try {
            return Integer.parseInt(address.strip());
        } catch (NumberFormatException e) {
            throw new IllegalStateException("Spark assigned this task GPU '" + address + "', not a device number (0, 1, ...): "
                    + "the GPU discovery script must list CUDA device ordinals");
        }
    }
}
