package dev.mnv3.serve.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.mnv3.serve.InferRequest;
import dev.mnv3.serve.InferResponse;
import dev.mnv3.serve.RawTensors;
import dev.mnv3.serve.ServeError;
import dev.mnv3.serve.grpc.proto.InferParameter;
import dev.mnv3.serve.grpc.proto.InferTensorContents;
import dev.mnv3.serve.grpc.proto.ModelInferRequest;
import dev.mnv3.serve.grpc.proto.ModelInferResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * ModelInfer messages to and from the protocol-neutral request and response. Inputs come in
 * raw_input_contents (all of them) or in typed contents (FP32, BYTES; FP16 has no typed field);
 * outputs always go out in raw_output_contents, as Triton sends them.
 */
final class ProtoCodec {
    private ProtoCodec() {
    }

    static InferRequest request(ModelInferRequest m) {
        int raw = m.getRawInputContentsCount();
        if (raw > 0 && raw != m.getInputsCount()) {
            throw ServeError.badRequest("raw_input_contents has " + raw + " entries for " + m.getInputsCount()
                    + " inputs; give one per input, in order");
        }
        List<InferRequest.Input> inputs = new ArrayList<>();
        for (int i = 0; i < m.getInputsCount(); i++) {
            ModelInferRequest.InferInputTensor t = m.getInputs(i);
            String what = "input '" + t.getName() + "'";
            long[] shape = t.getShapeList().stream().mapToLong(Long::longValue).toArray();
            long elements = RawTensors.elements(shape, what);
            int size = RawTensors.elementSize(t.getDatatype());
            if (raw > 0) {
                if (t.hasContents()) throw ServeError.badRequest(what + " has contents although the request uses raw_input_contents");
                var bytes = m.getRawInputContents(i).asReadOnlyByteBuffer();
                inputs.add(size == 0 ? new InferRequest.Input(t.getName(), t.getDatatype(), shape, null, RawTensors.strings(bytes, what))
                        : new InferRequest.Input(t.getName(), t.getDatatype(), shape,
                                RawTensors.floats(bytes, t.getDatatype(), elements, what), null));
            } else {
                inputs.add(typed(t, shape, size, what));
            }
        }
        List<InferRequest.RequestedOutput> outputs = new ArrayList<>();
        for (ModelInferRequest.InferRequestedOutputTensor o : m.getOutputsList()) {
            InferParameter k = o.getParametersMap().get("classification");
            long top = 0;
            if (k != null) {
                if (k.getParameterChoiceCase() != InferParameter.ParameterChoiceCase.INT64_PARAM) {
                    throw ServeError.badRequest("output '" + o.getName() + "': classification must be an int64_param");
                }
                top = k.getInt64Param();
                if (top < 1 || top > Integer.MAX_VALUE) {
                    throw ServeError.badRequest("output '" + o.getName() + "': classification must be >= 1, got " + top);
                }
            }
            outputs.add(new InferRequest.RequestedOutput(o.getName(), null, (int) top));
        }
        return new InferRequest(m.getId(), inputs, outputs, true);
    }

    private static InferRequest.Input typed(ModelInferRequest.InferInputTensor t, long[] shape, int size, String what) {
        if (!t.hasContents()) throw ServeError.badRequest(what + " has no contents and the request no raw_input_contents");
        InferTensorContents c = t.getContents();
        if (size == 0) {
            List<byte[]> bytes = c.getBytesContentsList().stream().map(ByteString::toByteArray).toList();
            return new InferRequest.Input(t.getName(), t.getDatatype(), shape, null, bytes);
        }
        if (size == 2) throw ServeError.badRequest(what + " is FP16, which travels in raw_input_contents only");
        float[] v = new float[c.getFp32ContentsCount()];
        for (int j = 0; j < v.length; j++) v[j] = c.getFp32Contents(j);
        return new InferRequest.Input(t.getName(), t.getDatatype(), shape, v, null);
    }

    static ModelInferResponse response(InferResponse r) {
        ModelInferResponse.Builder b = ModelInferResponse.newBuilder().setModelName(r.modelName()).setModelVersion(r.modelVersion())
                .setId(r.id());
        for (InferResponse.Output o : r.outputs()) {
            ModelInferResponse.InferOutputTensor.Builder t = ModelInferResponse.InferOutputTensor.newBuilder().setName(o.name())
                    .setDatatype(o.datatype());
            for (long d : o.shape()) t.addShape(d);
            b.addOutputs(t);
            b.addRawOutputContents(UnsafeByteOperations.unsafeWrap(RawTensors.encode(o)));
        }
        return b.build();
    }
}
