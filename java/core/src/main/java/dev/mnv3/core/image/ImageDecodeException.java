package dev.mnv3.core.image;

import java.io.IOException;

/**
 * An image that cannot be decoded: not an image format we read, damaged beyond decoding, or too
 * large. The message is one line that names the image.
 */
public final class ImageDecodeException extends IOException {
    ImageDecodeException(String message) {
        super(message);
    }

    ImageDecodeException(String message, Throwable cause) {
        super(message, cause);
    }
}
