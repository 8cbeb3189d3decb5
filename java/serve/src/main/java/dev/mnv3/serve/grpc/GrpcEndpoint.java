package dev.mnv3.serve.grpc;

import dev.mnv3.serve.Admission;
import dev.mnv3.serve.InferResponse;
import dev.mnv3.serve.InferenceService;
import dev.mnv3.serve.ModelConfiguration;
import dev.mnv3.serve.ServeError;
import dev.mnv3.serve.ServedModel;
import dev.mnv3.serve.ServerState;
import dev.mnv3.serve.grpc.proto.GRPCInferenceServiceGrpc;
import dev.mnv3.serve.grpc.proto.ModelConfigRequest;
import dev.mnv3.serve.grpc.proto.ModelConfigResponse;
import dev.mnv3.serve.grpc.proto.ModelInferRequest;
import dev.mnv3.serve.grpc.proto.ModelInferResponse;
import dev.mnv3.serve.grpc.proto.ModelMetadataRequest;
import dev.mnv3.serve.grpc.proto.ModelMetadataResponse;
import dev.mnv3.serve.grpc.proto.ModelReadyRequest;
import dev.mnv3.serve.grpc.proto.ModelReadyResponse;
import dev.mnv3.serve.grpc.proto.ModelStatisticsRequest;
import dev.mnv3.serve.grpc.proto.ModelStatisticsResponse;
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
 * {@code inference.GRPCInferenceService}: health, metadata, ModelInfer, and Triton's ModelConfig
 * and ModelStatistics. The model repository RPCs are left to the generated base class, which
 * answers UNIMPLEMENTED. Calls run on virtual threads (the server's executor), so ModelInfer waits
 * for its batch as the REST handler does; they reach it through the {@link GrpcGuards}.
 */
public final class GrpcEndpoint extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {
    public static final String PROTOCOL = "grpc";

    private final InferenceService service;
    private final ServerState state;
    private final ServerMetadataResponse serverMetadata;
    private final ModelMetadataResponse modelMetadata;
    private final ModelConfigResponse modelConfig;

    public GrpcEndpoint(InferenceService service, ServerState state, String serverName, String serverVersion, int instances) {
        this.service = service;
        this.state = state;
        this.modelConfig = ModelConfigResponse.newBuilder()
                .setConfig(GrpcDocuments.modelConfig(ModelConfiguration.of(service.model(), service.policy(), instances))).build();
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
    public void modelConfig(ModelConfigRequest request, StreamObserver<ModelConfigResponse> out) {
        try {
            service.requireModel(request.getName(), request.getVersion());
            reply(out, modelConfig);
        } catch (ServeError e) {
            out.onError(status(e).asRuntimeException());
        }
    }

    /** Triton's statistics: of the served model, which an empty name asks for too (Triton: every model). */
    @Override
    public void modelStatistics(ModelStatisticsRequest request, StreamObserver<ModelStatisticsResponse> out) {
        try {
            if (!request.getName().isEmpty()) service.requireModel(request.getName(), request.getVersion());
            reply(out, ModelStatisticsResponse.newBuilder()
                    .addModelStats(GrpcDocuments.statistics(service.model(), service.statistics().snapshot())).build());
        } catch (ServeError e) {
            out.onError(status(e).asRuntimeException());
        }
    }

    /** Runs on its admission ticket (the guards took it); the outcome is counted before it is sent. */
    @Override
    public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
        long start = System.nanoTime();
        Admission.Ticket ticket = GrpcGuards.TICKET.get();
        ModelInferResponse answer = null;
        ServeError error = null;
        boolean entered = false;
        try (ticket) {
            state.enter();
            entered = true;
            InferResponse r = service.infer(request.getModelName(), request.getModelVersion(), ProtoCodec.request(request), ticket);
            answer = ProtoCodec.response(r);
        } catch (ServeError e) {
            error = e;
        } catch (RuntimeException e) {
            error = new ServeError(ServeError.Kind.INTERNAL, "internal error: " + e, e);
        }
        GrpcGuards.record(service, error == null ? null : error.kind(), System.nanoTime() - start);
        try {
            if (error == null) {
                reply(out, answer);
            } else {
                InferenceService.logInternal(error);
                out.onError(status(error).asRuntimeException());
            }
        } finally {
            if (entered) state.exit();
        }
    }

    private static <T> void reply(StreamObserver<T> out, T message) {
        out.onNext(message);
        out.onCompleted();
    }

    static Status status(ServeError e) {
        Status s = switch (e.kind()) {
            case BAD_REQUEST -> Status.INVALID_ARGUMENT;
            case UNAUTHENTICATED -> Status.UNAUTHENTICATED;
            case TIMEOUT -> Status.DEADLINE_EXCEEDED;
            case NOT_FOUND -> Status.NOT_FOUND;
            case METHOD_NOT_ALLOWED -> Status.UNIMPLEMENTED;
            case OVERLOADED -> Status.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
            case INTERNAL -> Status.INTERNAL;
        };
        return s.withDescription(e.getMessage());
    }
}
