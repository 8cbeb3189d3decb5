package dev.mnv3.serve.grpc;

import dev.mnv3.serve.InferResponse;
import dev.mnv3.serve.InferenceService;
import dev.mnv3.serve.ServeError;
import dev.mnv3.serve.ServedModel;
import dev.mnv3.serve.ServerState;
import dev.mnv3.serve.grpc.proto.GRPCInferenceServiceGrpc;
import dev.mnv3.serve.grpc.proto.ModelInferRequest;
import dev.mnv3.serve.grpc.proto.ModelInferResponse;
import dev.mnv3.serve.grpc.proto.ModelMetadataRequest;
import dev.mnv3.serve.grpc.proto.ModelMetadataResponse;
import dev.mnv3.serve.grpc.proto.ModelReadyRequest;
import dev.mnv3.serve.grpc.proto.ModelReadyResponse;
import dev.mnv3.serve.grpc.proto.ServerLiveRequest;
import dev.mnv3.serve.grpc.proto.ServerLiveResponse;
import dev.mnv3.serve.grpc.proto.ServerMetadataRequest;
import dev.mnv3.serve.grpc.proto.ServerMetadataResponse;
import dev.mnv3.serve.grpc.proto.ServerReadyRequest;
import dev.mnv3.serve.grpc.proto.ServerReadyResponse;
import dev.mnv3.serve.rest.RestDocuments;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * {@code inference.GRPCInferenceService}: health, metadata and ModelInfer. The model repository
 * RPCs are left to the generated base class, which answers UNIMPLEMENTED. Calls run on virtual
 * threads (the server's executor), so ModelInfer waits for its batch as the REST handler does.
 */
public final class GrpcEndpoint extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {
    public static final String PROTOCOL = "grpc";

    private final InferenceService service;
    private final ServerState state;
    private final ServerMetadataResponse serverMetadata;
    private final ModelMetadataResponse modelMetadata;

    public GrpcEndpoint(InferenceService service, ServerState state, String serverName, String serverVersion) {
        this.service = service;
        this.state = state;
        this.serverMetadata = ServerMetadataResponse.newBuilder().setName(serverName).setVersion(serverVersion)
                .addAllExtensions(RestDocuments.EXTENSIONS).build();
        ModelMetadataResponse.Builder m = ModelMetadataResponse.newBuilder().setName(service.model().name())
                .addVersions(ServedModel.VERSION).setPlatform(ServedModel.PLATFORM);
        for (ServedModel.TensorSpec t : service.model().inputs()) m.addInputs(tensor(t));
        for (ServedModel.TensorSpec t : service.model().outputs()) m.addOutputs(tensor(t));
        this.modelMetadata = m.build();
    }

    private static ModelMetadataResponse.TensorMetadata tensor(ServedModel.TensorSpec t) {
        ModelMetadataResponse.TensorMetadata.Builder b = ModelMetadataResponse.TensorMetadata.newBuilder().setName(t.name())
                .setDatatype(t.datatype());
        for (long d : t.shape()) b.addShape(d);
        return b.build();
    }

    @Override
    public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> out) {
        reply(out, ServerLiveResponse.newBuilder().setLive(state.live()).build());
    }

    @Override
    public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> out) {
        reply(out, ServerReadyResponse.newBuilder().setReady(state.ready()).build());
    }

    @Override
    public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> out) {
        try {
            service.requireModel(request.getName(), request.getVersion());
            reply(out, ModelReadyResponse.newBuilder().setReady(state.ready()).build());
        } catch (ServeError e) {
            out.onError(status(e).asRuntimeException());
        }
    }

    @Override
    public void serverMetadata(ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> out) {
        reply(out, serverMetadata);
    }

    @Override
    public void modelMetadata(ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> out) {
        try {
            service.requireModel(request.getName(), request.getVersion());
            reply(out, modelMetadata);
        } catch (ServeError e) {
            out.onError(status(e).asRuntimeException());
        }
    }

    @Override
    public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
        long start = System.nanoTime();
        ServeError.Kind failure = null;
        boolean admitted = false;
        try {
            state.enter();
            admitted = true;
            InferResponse r = service.infer(request.getModelName(), request.getModelVersion(), ProtoCodec.request(request));
            reply(out, ProtoCodec.response(r));
        } catch (ServeError e) {
            failure = e.kind();
            InferenceService.logInternal(e);
            out.onError(status(e).asRuntimeException());
        } catch (RuntimeException e) {
            failure = ServeError.Kind.INTERNAL;
            InferenceService.logInternal(new ServeError(failure, "internal error: " + e, e));
            out.onError(Status.INTERNAL.withDescription("internal error: " + e).asRuntimeException());
        } finally {
            if (admitted) state.exit();
            service.record(PROTOCOL, failure, System.nanoTime() - start);
        }
    }

    private static <T> void reply(StreamObserver<T> out, T message) {
        out.onNext(message);
        out.onCompleted();
    }

    static Status status(ServeError e) {
        Status s = switch (e.kind()) {
            case BAD_REQUEST -> Status.INVALID_ARGUMENT;
            case NOT_FOUND -> Status.NOT_FOUND;
            case METHOD_NOT_ALLOWED -> Status.UNIMPLEMENTED;
            case OVERLOADED -> Status.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
            case INTERNAL -> Status.INTERNAL;
        };
        return s.withDescription(e.getMessage());
    }
}
