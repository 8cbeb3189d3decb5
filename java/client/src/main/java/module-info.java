/** mnv3-client: a KServe v2 REST client with Triton's binary tensor data, on the JDK's HTTP client. */
module dev.mnv3.client {
    requires java.net.http;
    requires com.fasterxml.jackson.core;

    exports dev.mnv3.client;
}
