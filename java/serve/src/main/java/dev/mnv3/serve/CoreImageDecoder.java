package dev.mnv3.serve;

import dev.mnv3.core.image.ImageDecoder;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.Preprocessing;
import java.io.IOException;
import java.util.List;

/**
 * Decodes through core's image stage ({@link ImageDecoder}), the decoder
 * {@code mnv3 classify} and {@code mnv3 batch} use: the same pixels, colours as PIL converts
 * them, only the crop's region decoded within the decode memory budget that all request threads
 * share. An image that does not decode, or decodes damaged (classify's default refuses those
 * too), is a bad request naming the problem.
 */
public final class CoreImageDecoder implements RequestImageDecoder {
    @Override
    public float[] decode(byte[] encoded, Preprocessing preprocessing) {
        float[] crop = new float[3 * preprocessing.crop() * preprocessing.crop()];
        List<String> damage;
        try {
            damage = ImageDecoder.preprocess(ImageSource.of("the image", encoded), preprocessing, crop, 0);
        } catch (IOException | RuntimeException e) {
            // ImageDecodeException names the problem in one line; decoders throw runtime exceptions from deep inside too
            throw ServeError.badRequest("cannot decode the image: " + e.getMessage());
        }
        if (!damage.isEmpty()) throw ServeError.badRequest("the image is damaged: " + String.join("; ", damage));
        return crop;
    }
}
