/**
 * mnv3-serve: a KServe v2 inference server (REST on Jetty, gRPC on grpc-java) with a dynamic
 * batcher. {@link dev.mnv3.serve.InferenceServer} is the entry point; the REST and gRPC fronts and
 * the generated protocol classes are internal.
 */
module dev.mnv3.serve {
    requires transitive dev.mnv3.api;
    requires java.logging;
    requires com.fasterxml.jackson.core;
    requires org.eclipse.jetty.server;
    requires org.eclipse.jetty.http;
    requires org.eclipse.jetty.io;
    requires org.eclipse.jetty.util;
    requires io.grpc;
    requires io.grpc.stub;
    requires io.grpc.protobuf;
    requires io.grpc.netty.shaded;
    requires com.google.common; // the generated stubs' ListenableFuture
    requires com.google.protobuf;
    requires io.prometheus.metrics.core;
    requires io.prometheus.metrics.model;
    requires io.prometheus.writer.text;
    requires io.prometheus.metrics.instrumentation.jvm;

    exports dev.mnv3.serve;

    // protobuf reads the generated messages' fields reflectively
    opens dev.mnv3.serve.grpc.proto to com.google.protobuf;
}
