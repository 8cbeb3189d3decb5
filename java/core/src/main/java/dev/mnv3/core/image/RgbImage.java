package dev.mnv3.core.image;

/** A decoded 8-bit RGB image, pixels row-major as 0xRRGGBB. */
public record RgbImage(int width, int height, int[] rgb) {
    public RgbImage {
        if (width < 1 || height < 1 || (long) width * height != rgb.length) {
            throw new IllegalArgumentException("image " + width + "x" + height + " does not match " + rgb.length + " pixels");
        }
    }
}
