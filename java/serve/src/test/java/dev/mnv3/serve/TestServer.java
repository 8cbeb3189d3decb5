package dev.mnv3.serve;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import java.io.IOException;
import java.time.Duration;

/**
 * MobileNetV3-Small on the fast CPU backend with seeded He-scaled random weights (BatchNorm far
 * from identity), served on loopback at ephemeral ports, with a separately compiled copy of the
 * same model as the reference the served results must match. Images are cropped to 64x64 so that
 * each inference takes milliseconds.
 */
final class TestServer implements AutoCloseable {
    static final String NAME = "small";
    static final int SIZE = 64;
    static final Preprocessing PREPROCESSING = new Preprocessing(72, SIZE);

    final Graph graph = Graph.of(MobileNetV3Config.small());
    final Weights weights = RandomWeights.generate(graph, 7);
    final Backend backend = Backends.named("cpu");
    final CompiledModel reference = backend.compile(graph, weights, CompileOptions.defaults().withThreads(1));
    final InferenceServer server;

    TestServer(BatchPolicy policy, int instances, int maxBodyBytes) throws IOException {
        this(new ServerConfig("127.0.0.1", 0, 0, maxBodyBytes, policy, Duration.ofSeconds(10)), instances, false, CoreImageDecoder.DEFAULT);
    }

    /** With its own configuration, non-finite inputs allowed or not, and its own image decoder. */
    TestServer(ServerConfig config, int instances, boolean nonFiniteInputs, RequestImageDecoder decoder) throws IOException {
        ModelInstances models = ModelInstances.compile(backend, graph, weights, CompileOptions.defaults(), instances);
        server = InferenceServer.start(config, new ServedModel(NAME, graph, PREPROCESSING, models.backend(), nonFiniteInputs), models,
                decoder);
    }

    /** A loopback configuration at ephemeral ports. */
    static ServerConfig config(BatchPolicy policy, int maxBodyBytes) {
        return new ServerConfig("127.0.0.1", 0, 0, maxBodyBytes, policy, Duration.ofSeconds(10));
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.httpPort() + path;
    }

    Tensor expected(Tensor input) {
        return reference.run(input);
    }

    /** A random input [n, 3, SIZE, SIZE], as torchvision's normalization leaves images. */
    static Tensor input(int n, long seed) {
        return RandomWeights.input(n, SIZE, SIZE, seed);
    }

    @Override
    public void close() {
        server.close();
        reference.close();
    }
}
