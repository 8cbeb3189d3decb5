package dev.mnv3.core.image;

import java.io.IOException;

/**
 * An image that hands out its 8-bit RGB pixels a region at a time, row by row, so that
 * preprocessing never needs the whole decoded image in memory.
 */
public interface PixelSource {
    int width();

    int height();

    /** Receives row {@code y} of a region: {@code rgb[i]} is pixel {@code x0 + i} as 0xRRGGBB. */
    interface Rows {
        void row(int y, int[] rgb);
    }

    /** Calls {@code rows} for y = y0 .. y1-1 in order, each with the pixels x0 .. x1-1 (the array may be reused). */
    void read(int x0, int y0, int x1, int y1, Rows rows) throws IOException;
}
