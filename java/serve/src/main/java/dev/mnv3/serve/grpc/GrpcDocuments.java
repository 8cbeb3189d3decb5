package dev.mnv3.serve.grpc;

import dev.mnv3.serve.ModelConfiguration;
import dev.mnv3.serve.ServedModel;
import dev.mnv3.serve.grpc.proto.DataType;
import dev.mnv3.serve.grpc.proto.InferBatchStatistics;
import dev.mnv3.serve.grpc.proto.InferStatistics;
import dev.mnv3.serve.grpc.proto.ModelConfig;
import dev.mnv3.serve.grpc.proto.ModelDynamicBatching;
import dev.mnv3.serve.grpc.proto.ModelInput;
import dev.mnv3.serve.grpc.proto.ModelInstanceGroup;
import dev.mnv3.serve.grpc.proto.ModelOutput;
import dev.mnv3.serve.grpc.proto.ModelParameter;
import dev.mnv3.serve.grpc.proto.ModelQueuePolicy;
import dev.mnv3.serve.grpc.proto.ModelStatistics;
import dev.mnv3.serve.grpc.proto.StatisticDuration;
import java.util.Map;

/** Triton's model configuration and statistics as its gRPC messages (the REST endpoint writes the same as JSON). */
final class GrpcDocuments {
    private GrpcDocuments() {
    }

    static ModelConfig modelConfig(ModelConfiguration c) {
        ModelConfig.Builder b = ModelConfig.newBuilder().setName(c.name()).setPlatform(c.platform()).setBackend(c.backend())
                .setMaxBatchSize(c.maxBatchSize());
        for (ModelConfiguration.Tensor t : c.inputs()) {
            b.addInput(ModelInput.newBuilder().setName(t.name()).setDataType(DataType.valueOf(t.dataType()))
                    .setFormat(ModelInput.Format.valueOf(t.format())).addAllDims(longs(t.dims())).setOptional(true));
        }
        for (ModelConfiguration.Tensor t : c.outputs()) {
            b.addOutput(ModelOutput.newBuilder().setName(t.name()).setDataType(DataType.valueOf(t.dataType())).addAllDims(longs(t.dims())));
        }
        if (c.batching()) {
            ModelDynamicBatching.Builder d = ModelDynamicBatching.newBuilder().setMaxQueueDelayMicroseconds(c.maxQueueDelayMicros())
                    .setDefaultQueuePolicy(ModelQueuePolicy.newBuilder().setMaxQueueSize(c.maxQueueSize()));
            for (int s : c.preferredBatchSizes()) d.addPreferredBatchSize(s);
            b.setDynamicBatching(d);
        }
        b.addInstanceGroup(ModelInstanceGroup.newBuilder().setName(c.name()).setKind(ModelInstanceGroup.Kind.valueOf(c.instanceKind()))
                .setCount(c.instanceCount()));
        for (Map.Entry<String, String> p : c.parameters().entrySet()) {
            b.putParameters(p.getKey(), ModelParameter.newBuilder().setStringValue(p.getValue()).build());
        }
        return b.build();
    }

    private static Iterable<Long> longs(long[] v) {
        return java.util.Arrays.stream(v).boxed().toList();
    }

    static ModelStatistics statistics(ServedModel m, dev.mnv3.serve.ModelStatistics.Snapshot s) {
        InferStatistics inference = InferStatistics.newBuilder().setSuccess(duration(s.success())).setFail(duration(s.fail()))
                .setQueue(duration(s.queue())).setComputeInput(duration(new dev.mnv3.serve.ModelStatistics.Duration(0, 0)))
                .setComputeInfer(duration(s.computeInfer()))
                .setComputeOutput(duration(new dev.mnv3.serve.ModelStatistics.Duration(0, 0))).build();
        ModelStatistics.Builder b = ModelStatistics.newBuilder().setName(m.name()).setVersion(ServedModel.VERSION)
                .setLastInference(s.lastInferenceMillis()).setInferenceCount(s.inferenceCount()).setExecutionCount(s.executionCount())
                .setInferenceStats(inference);
        for (Map.Entry<Integer, dev.mnv3.serve.ModelStatistics.Duration> e : s.batches().entrySet()) {
            b.addBatchStats(InferBatchStatistics.newBuilder().setBatchSize(e.getKey()).setComputeInfer(duration(e.getValue())));
        }
        return b.build();
    }

    private static StatisticDuration duration(dev.mnv3.serve.ModelStatistics.Duration d) {
        return StatisticDuration.newBuilder().setCount(d.count()).setNs(d.ns()).build();
    }
}
