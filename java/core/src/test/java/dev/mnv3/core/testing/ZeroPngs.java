package dev.mnv3.core.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * PNGs of zeros written chunk by chunk (javax.imageio would first need the whole raster): tiny
 * files that decode to huge images, for the tests of what decoding may cost.
 */
public final class ZeroPngs {
    private ZeroPngs() {
    }

    /** An 8-bit grey PNG of {@code w} x {@code h} zeros whose data holds only {@code rows} rows (fewer: cut short). */
    public static byte[] grey(int w, int h, int rows) throws IOException {
        return of(w, h, rows, 0, 1, 0);
    }

    /**
     * An 8-bit PNG of zeros of colour type {@code colourType} ({@code channels} a pixel), every row
     * with filter {@code filter}: 4 (Paeth) makes javax.imageio's decoder do work per byte.
     */
    public static byte[] of(int w, int h, int rows, int colourType, int channels, int filter) throws IOException {
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        try (DeflaterOutputStream z = new DeflaterOutputStream(idat, new Deflater(1), 1 << 16)) {
            byte[] row = new byte[channels * w + 1];
            row[0] = (byte) filter;
            for (int y = 0; y < rows; y++) z.write(row);
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(png, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) colourType).put(new byte[3]).array());
        chunk(png, "IDAT", idat.toByteArray());
        chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(type.getBytes());
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(type.getBytes());
        out.writeBytes(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
