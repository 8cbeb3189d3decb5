/**
 * mnv3's application API: {@link dev.mnv3.api.ImageClassifier} classifies images from a checkpoint
 * and returns {@link dev.mnv3.api.Classifications}. The backend is found through core's
 * {@code uses Backend}: the CPU backend ships with this module's artifact, the CUDA one joins when
 * mnv3-cuda is on the path.
 */
module dev.mnv3.api {
    requires transitive dev.mnv3.core;

    exports dev.mnv3.api;
}
