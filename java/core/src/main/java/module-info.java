/**
 * mnv3's graph, tensors, weights, image pipeline and the backend interface. Backends are found
 * through {@link java.util.ServiceLoader} ({@code uses Backend}), on the module path and the class
 * path alike. The image decoder uses java.desktop (javax.imageio), and libjpeg-turbo through the
 * FFM API where installed: give this module native access ({@code --enable-native-access=dev.mnv3.core}).
 */
module dev.mnv3.core {
    requires java.desktop;
    requires java.management; // bench warm-ups watch the JIT
    requires com.fasterxml.jackson.core;

    exports dev.mnv3.core;
    exports dev.mnv3.core.backend;
    exports dev.mnv3.core.bench;
    exports dev.mnv3.core.graph;
    exports dev.mnv3.core.image;
    exports dev.mnv3.core.io;
    exports dev.mnv3.core.tensor;
    exports dev.mnv3.core.weights;

    uses dev.mnv3.core.backend.Backend;
}
