/**
 * The {@code cuda} backend: the CUDA driver API (and cuDNN where used) through the FFM API. Give
 * this module native access ({@code --enable-native-access=dev.mnv3.cuda}).
 */
module dev.mnv3.cuda {
    requires transitive dev.mnv3.core;

    exports dev.mnv3.cuda;

    provides dev.mnv3.core.backend.Backend with dev.mnv3.cuda.CudaBackend;
}
