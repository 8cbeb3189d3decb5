package dev.mnv3.serve;

import dev.mnv3.core.image.ImageDecodeException;
import dev.mnv3.core.image.ImageDecoder;
import dev.mnv3.core.image.ImageLimits;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.Preprocessing;
import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * Decodes through core's image stage ({@link ImageDecoder}), the decoder
 * {@code mnv3 classify} and {@code mnv3 batch} use: the same pixels, colours as PIL converts
 * them, only the crop's region decoded within the decode memory budget that all request threads
 * share. What one image may cost is bounded by the crop it is for: an image that would decode to
 * more than {@code maxDecodeRatio} times the crop's pixels is refused from its header (a JPEG is
 * decoded scaled down instead, where libjpeg-turbo can), within PIL's pixel limit, and a decode
 * that runs past {@code decodeTimeout} is stopped and refused. An image that does not decode, or
 * decodes damaged (classify's default refuses those too), is a bad request naming the problem.
 *
 * @param maxDecodeRatio the most pixels one decode may produce, per pixel of the crop
 * @param decodeTimeout  how long one image may take to decode (zero: no limit)
 */
public record CoreImageDecoder(int maxDecodeRatio, Duration decodeTimeout) implements RequestImageDecoder {
    /** A 12-megapixel photo decodes whole for a 224 crop (1000 x 224 x 224 = 50 million pixels); a 5 s bound per image. */
    public static final CoreImageDecoder DEFAULT = new CoreImageDecoder(1000, Duration.ofSeconds(5));

    public CoreImageDecoder {
        if (maxDecodeRatio < 1) throw new IllegalArgumentException("the decode ratio must be >= 1, got " + maxDecodeRatio);
        if (decodeTimeout.isNegative()) throw new IllegalArgumentException("the decode timeout must not be negative");
    }

    /** The limits for images cropped to {@code crop}. */
    public ImageLimits limits(int crop) {
        return ImageLimits.DEFAULTS.withMaxDecodedPixels((long) maxDecodeRatio * crop * crop).withDecodeTimeout(decodeTimeout);
    }

    @Override
    public float[] decode(byte[] encoded, Preprocessing preprocessing) {
        float[] crop = new float[3 * preprocessing.crop() * preprocessing.crop()];
        List<String> damage;
        try {
            damage = ImageDecoder.preprocess(ImageSource.of("in the request", encoded), preprocessing, crop, 0,
                    limits(preprocessing.crop()));
        } catch (ImageDecodeException e) {
            throw ServeError.badRequest(e.getMessage()); // one line naming the problem
        } catch (IOException | RuntimeException e) {
            // decoders throw runtime exceptions from deep inside too
            throw ServeError.badRequest("cannot decode the image: " + e);
        }
        if (!damage.isEmpty()) throw ServeError.badRequest("the image is damaged: " + String.join("; ", damage));
        return crop;
    }
}
