package dev.mnv3.serve.grpc;

import dev.mnv3.serve.Admission;
import dev.mnv3.serve.InferenceService;
import dev.mnv3.serve.ServeError;
import dev.mnv3.serve.ServerSecurity;
import dev.mnv3.serve.grpc.proto.GRPCInferenceServiceGrpc;
import io.grpc.BindableService;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What every gRPC call passes before the endpoint, outermost first: the bearer token (all but the
 * health checks), admission (ModelInfer: refused with RESOURCE_EXHAUSTED before its message is
 * read when too many are being received or the queue is full), and the parse of its message, here
 * rather than in grpc-java, which answers a message that is not one with UNKNOWN and logs a stack
 * trace: here it is INVALID_ARGUMENT with one line. A ModelInfer call that the transport refuses
 * before any of this (a message over the size limit, broken framing) is counted by the
 * {@link #tracer()} as a failed request.
 */
final class GrpcGuards {
    static final String MODEL_INFER = GRPCInferenceServiceGrpc.getModelInferMethod().getFullMethodName();
    /** A ModelInfer call's admission ticket, which the endpoint gives back once the request is queued. */
    static final Context.Key<Admission.Ticket> TICKET = Context.key("mnv3-admission-ticket");
    /** Set once a ModelInfer call's outcome is in the metrics, so that the tracer does not count it again. */
    private static final Context.Key<AtomicBoolean> COUNTED = Context.key("mnv3-counted");
    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    /** gRPC's retry pushback: how long a client with a retry policy waits before it retries. */
    private static final Metadata.Key<String> PUSHBACK = Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);
    private static final Set<String> HEALTH = Set.of(GRPCInferenceServiceGrpc.getServerLiveMethod().getFullMethodName(),
            GRPCInferenceServiceGrpc.getServerReadyMethod().getFullMethodName(),
            GRPCInferenceServiceGrpc.getModelReadyMethod().getFullMethodName());

    private final InferenceService service;
    private final ServerSecurity security;

    GrpcGuards(InferenceService service, ServerSecurity security) {
        this.service = service;
        this.security = security;
    }

    /** The endpoint behind every guard, its requests parsed by the guard (grpc-java hands over the bytes). */
    ServerServiceDefinition wrap(BindableService endpoint) {
        return ServerInterceptors.intercept(ServerInterceptors.useInputStreamMessages(endpoint.bindService()), new Parse(), new Admit(),
                new Authenticate());
    }

    /** Records a ModelInfer call's outcome, once. */
    static void record(InferenceService service, ServeError.Kind failure, long nanos) {
        AtomicBoolean counted = COUNTED.get();
        if (counted == null || counted.compareAndSet(false, true)) service.record(GrpcEndpoint.PROTOCOL, failure, nanos);
    }

    private void refuse(ServerCall<?, ?> call, ServeError e, Metadata trailers) {
        if (call.getMethodDescriptor().getFullMethodName().equals(MODEL_INFER)) record(service, e.kind(), 0);
        call.close(GrpcEndpoint.status(e), trailers);
    }

    private final class Authenticate implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            if (HEALTH.contains(call.getMethodDescriptor().getFullMethodName()) || security.admits(headers.get(AUTHORIZATION))) {
                return next.startCall(call, headers);
            }
            refuse(call, new ServeError(ServeError.Kind.UNAUTHENTICATED, "this server wants the metadata 'authorization: Bearer TOKEN'"),
                    new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
    }

    private final class Admit implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            if (!call.getMethodDescriptor().getFullMethodName().equals(MODEL_INFER)) return next.startCall(call, headers);
            Admission.Ticket ticket;
            try {
                ticket = service.admit(0); // the message's size is not known before it is read: gRPC calls count by number
            } catch (ServeError e) {
                Metadata trailers = new Metadata();
                trailers.put(PUSHBACK, "1000");
                refuse(call, e, trailers);
                return new ServerCall.Listener<>() {
                };
            }
            ServerCall.Listener<Q> inner = Contexts.interceptCall(Context.current().withValue(TICKET, ticket), call, headers, next);
            return new SimpleForwardingServerCallListener<>(inner) {
                @Override
                public void onComplete() {
                    ticket.close();
                    super.onComplete();
                }

                @Override
                public void onCancel() {
                    ticket.close();
                    super.onCancel();
                }
            };
        }
    }

    private final class Parse implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            return new SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
                private boolean refused;

                @Override
                public void onMessage(Q message) {
                    try {
                        super.onMessage(message);
                    } catch (RuntimeException e) {
                        // the only thing that throws here is the parse of the message: a unary handler takes it, and waits
                        refused = true;
                        Throwable why = e.getCause() != null ? e.getCause() : e;
                        String method = call.getMethodDescriptor().getBareMethodName();
                        refuse(call, ServeError.badRequest("the " + method + " request is not a valid protobuf message: "
                                + String.valueOf(why.getMessage()).lines().findFirst().orElse("")), new Metadata());
                    }
                }

                @Override
                public void onHalfClose() {
                    if (!refused) super.onHalfClose();
                }
            };
        }
    }

    /** Counts the ModelInfer calls the transport refused before a guard or the endpoint saw them. */
    ServerStreamTracer.Factory tracer() {
        return new ServerStreamTracer.Factory() {
            @Override
            public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
                if (!fullMethodName.equals(MODEL_INFER)) return new ServerStreamTracer() {
                };
                AtomicBoolean counted = new AtomicBoolean();
                return new ServerStreamTracer() {
                    @Override
                    public Context filterContext(Context context) {
                        return context.withValue(COUNTED, counted);
                    }

                    @Override
                    public void streamClosed(Status status) {
                        if (status.isOk() || !counted.compareAndSet(false, true)) return;
                        service.record(GrpcEndpoint.PROTOCOL, switch (status.getCode()) {
                            case CANCELLED, DEADLINE_EXCEEDED -> ServeError.Kind.TIMEOUT;
                            case UNAVAILABLE -> ServeError.Kind.UNAVAILABLE;
                            default -> ServeError.Kind.BAD_REQUEST;
                        }, 0);
                    }
                };
            }
        };
    }
}
