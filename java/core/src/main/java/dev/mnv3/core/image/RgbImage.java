package dev.mnv3.core.image;

/** A decoded 8-bit RGB image, pixels row-major as 0xRRGGBB. */
public record RgbImage(int width, int height, int[] rgb) implements PixelSource {
    public RgbImage {
        if (width < 1 || height < 1 || (long) width * height != rgb.length) {
            throw new IllegalArgumentException("image " + width + "x" + height + " does not match " + rgb.length + " pixels");
        }
    }

    @Override
    public void read(int x0, int y0, int x1, int y1, Rows rows) {
        int[] row = new int[x1 - x0];
        for (int y = y0; y < y1; y++) {
            System.arraycopy(rgb, y * width + x0, row, 0, row.length);
            rows.row(y, row);
        }
    }
}
