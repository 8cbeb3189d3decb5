package dev.mnv3.core.image;

import java.time.Duration;
import java.util.Objects;

/**
 * What decoding one image may cost: its pixels, read from its header before anything is decoded,
 * and its time. A plain value: {@link #DEFAULTS} for a command line tool, tighter for a server
 * that decodes what strangers send.
 *
 * @param maxPixels        the most pixels (width x height) an image may have; a larger one is
 *                         refused from its header, as PIL refuses decompression bombs
 * @param maxDecodedPixels the most pixels one decode may produce: a JPEG over it is decoded scaled
 *                         down by libjpeg-turbo (by 2, 4 or 8, the least that fits), where that
 *                         library decodes it; any other image over it is refused
 * @param decodeTimeout    how long one image may take to decode before it is stopped and refused;
 *                         zero: no limit. javax.imageio's decoders are stopped as they go;
 *                         libjpeg-turbo, which cannot be, is checked when it returns (its work is
 *                         bounded by {@code maxDecodedPixels})
 */
public record ImageLimits(long maxPixels, long maxDecodedPixels, Duration decodeTimeout) {
    /** PIL's limit: twice its {@code MAX_IMAGE_PIXELS} (1024 * 1024 * 1024 / 4 / 3), above which it raises DecompressionBombError. */
    public static final long PIL_MAX_PIXELS = 2L * (1024 * 1024 * 1024 / 4 / 3);

    /** PIL's pixel limit for every decode, no other bound. */
    /** What a limits argument is, for messages. */
    public static final String WHAT = "ImageLimits, e.g. ImageLimits.DEFAULTS";
    public static final ImageLimits DEFAULTS = new ImageLimits(PIL_MAX_PIXELS, PIL_MAX_PIXELS, Duration.ZERO);

    public ImageLimits {
        Objects.requireNonNull(decodeTimeout, "decodeTimeout");
        if (maxPixels < 1) throw new IllegalArgumentException("the image pixel limit must be >= 1, got " + maxPixels);
        if (maxDecodedPixels < 1) throw new IllegalArgumentException("the decoded pixel limit must be >= 1, got " + maxDecodedPixels);
        if (decodeTimeout.isNegative()) throw new IllegalArgumentException("the decode timeout must not be negative, got " + decodeTimeout);
    }

    public ImageLimits withMaxPixels(long pixels) {
        return new ImageLimits(pixels, Math.min(maxDecodedPixels, pixels), decodeTimeout);
    }

    public ImageLimits withMaxDecodedPixels(long pixels) {
        return new ImageLimits(maxPixels, pixels, decodeTimeout);
    }

    public ImageLimits withDecodeTimeout(Duration timeout) {
        return new ImageLimits(maxPixels, maxDecodedPixels, timeout);
    }

    /** Whether a decode has a time limit. */
    public boolean timed() {
        return !decodeTimeout.isZero();
    }

    /** Refuses an image without pixels or over {@link #maxPixels}, naming it. */
    void requireDecodable(String name, int width, int height) throws ImageDecodeException {
        long pixels = (long) width * height;
        if (width < 1 || height < 1) throw new ImageDecodeException("cannot decode image " + name + ": it has no pixels");
        if (pixels > maxPixels) {
            throw new ImageDecodeException(String.format("image %s is %dx%d, %,d pixels: more than the %,d mnv3 decodes", name,
                    width, height, pixels, maxPixels));
        }
    }

    /** Refuses an image that would decode to more than {@link #maxDecodedPixels} (the caller could not scale it down). */
    void requireDecodableWhole(String name, int width, int height) throws ImageDecodeException {
        requireDecodable(name, width, height);
        long pixels = (long) width * height;
        if (pixels > maxDecodedPixels) {
            throw new ImageDecodeException(String.format("image %s is %dx%d, %,d pixels: decoding it would cost more than the %,d "
                    + "pixels allowed here", name, width, height, pixels, maxDecodedPixels));
        }
    }

    /**
     * The least JPEG scale-down (1, 2, 4 or 8) that brings an image within {@link #maxDecodedPixels},
     * or 0 when even 8 does not.
     */
    int jpegScale(int width, int height) {
        for (int s = 1; s <= 8; s *= 2) {
            if ((long) Math.ceilDiv(width, s) * Math.ceilDiv(height, s) <= maxDecodedPixels) return s;
        }
        return 0;
    }

    /** A deadline of {@link #decodeTimeout} from now, for one image. */
    DecodeDeadline deadline(String name) {
        return new DecodeDeadline(name, decodeTimeout);
    }
}
