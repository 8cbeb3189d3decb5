package dev.mnv3.core.image;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;

/**
 * Whether an image file holds all of its data, for the formats whose javax.imageio decoders fill
 * what is missing silently (PNG, BMP, GIF) or whose container says its size (WebP): PIL refuses
 * such a file ("image file is truncated"), and so its torchvision loader does. PNG: every chunk
 * and its CRC up to IEND ({@link PngChunks}); BMP: the pixel data its header declares (RLE: up to
 * its end-of-bitmap code or last row); GIF: the first image's data sub-blocks, each whole; WebP:
 * the RIFF size.
 */
final class Truncation {
    private Truncation() {
    }

    /** What is missing or damaged in the file's structure, or null when it is whole (or of another format). */
    static String problem(ImageSource source) throws IOException {
        long size = switch (source) {
            case ImageSource.File f -> Files.size(f.path());
            case ImageSource.Bytes b -> b.data().length;
        };
        try (InputStream in = open(source)) {
            in.mark(16);
            byte[] head = in.readNBytes(16);
            in.reset();
            if (PngChunks.isPng(head)) return PngChunks.problem(in);
            if (head.length >= 2 && head[0] == 'B' && head[1] == 'M') return bmp(in, size);
            if (head.length >= 6 && head[0] == 'G' && head[1] == 'I' && head[2] == 'F') return gif(in);
            if (head.length >= 12 && ascii(head, 0, "RIFF") && ascii(head, 8, "WEBP")) return webp(head, size);
            return null;
        }
    }

    private static InputStream open(ImageSource source) throws IOException {
        return switch (source) {
            case ImageSource.File f -> new BufferedInputStream(Files.newInputStream(f.path()), 1 << 16);
            case ImageSource.Bytes b -> new ByteArrayInputStream(b.data());
        };
    }

    private static String bmp(InputStream in, long size) throws IOException {
        byte[] h = in.readNBytes(54);
        if (h.length < 26) return null; // too short to be one: the decoder says so
        long offBits = u32(h, 10), dib = u32(h, 14);
        long width, height, bpp, compression;
        if (dib == 12) {
            width = u16(h, 18);
            height = u16(h, 20);
            bpp = u16(h, 24);
            compression = 0;
        } else {
            if (h.length < 34) return "truncated (it ends inside its header)";
            width = Math.abs((long) (int) u32(h, 18));
            height = Math.abs((long) (int) u32(h, 22));
            bpp = u16(h, 28);
            compression = u32(h, 30);
        }
        if (compression == 1 || compression == 2) {
            if (offBits < h.length || offBits > size) return null; // a layout the decoder judges
            in.skipNBytes(offBits - h.length);
            return rle(in, height, compression == 2);
        }
        if (compression != 0 && compression != 3 && compression != 6) return null; // JPEG/PNG inside: their decoders check
        long stride = (width * bpp + 31) / 32 * 4, need = stride * height, have = Math.max(0, size - offBits);
        return have < need ? "truncated (image file is truncated: " + have + " of its " + need + " bytes of pixels)" : null;
    }

    /** RLE8 and RLE4 data: complete when it reaches its end-of-bitmap code or its last row. */
    private static String rle(InputStream in, long height, boolean four) throws IOException {
        long rows = 0;
        try {
            while (rows < height) {
                int count = next(in), value = next(in);
                if (count > 0) continue; // a run
                switch (value) {
                    case 0 -> rows++;
                    case 1 -> { return null; }
                    case 2 -> { // delta: dx, dy
                        next(in);
                        rows += next(in);
                    }
                    default -> { // absolute: value pixels, padded to 16 bits
                        int bytes = four ? (value + 1) / 2 : value;
                        in.skipNBytes(bytes + (bytes & 1));
                    }
                }
            }
            return null;
        } catch (EOFException e) {
            return "truncated (image file is truncated: its RLE data ends at row " + rows + " of " + height + ")";
        }
    }

    private static String gif(InputStream in) throws IOException {
        try {
            in.skipNBytes(10);
            int flags = next(in);
            in.skipNBytes(2);
            if ((flags & 0x80) != 0) in.skipNBytes(3L << ((flags & 7) + 1));
            while (true) {
                int block = next(in);
                if (block == 0x3b) return "truncated (image file is truncated: it ends before its first image)";
                if (block == 0x21) { // extension: label, sub-blocks
                    next(in);
                    skipSubBlocks(in);
                } else if (block == 0x2c) {
                    in.skipNBytes(8);
                    int local = next(in);
                    if ((local & 0x80) != 0) in.skipNBytes(3L << ((local & 7) + 1));
                    next(in); // LZW minimum code size
                    skipSubBlocks(in);
                    return null;
                } else {
                    return null; // not a block: the decoder says what is wrong
                }
            }
        } catch (EOFException e) {
            return "truncated (image file is truncated: it ends inside its first image)";
        }
    }

    /** Skips data sub-blocks up to the terminator; the end of the file right after a whole sub-block counts as one. */
    private static void skipSubBlocks(InputStream in) throws IOException {
        while (true) {
            int size = in.read();
            if (size <= 0) return;
            if (in.readNBytes(size).length < size) throw new EOFException();
        }
    }

    private static String webp(byte[] head, long size) {
        long declared = 8 + u32(head, 4);
        return size < declared ? "truncated (image file is truncated: " + size + " of its " + declared + " bytes)" : null;
    }

    private static int next(InputStream in) throws IOException {
        int b = in.read();
        if (b < 0) throw new EOFException();
        return b;
    }

    private static boolean ascii(byte[] b, int at, String s) {
        for (int i = 0; i < s.length(); i++) if (b[at + i] != s.charAt(i)) return false;
        return true;
    }

    private static long u16(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8;
    }

    private static long u32(byte[] b, int at) {
        return (b[at] & 0xffL) | (b[at + 1] & 0xffL) << 8 | (b[at + 2] & 0xffL) << 16 | (b[at + 3] & 0xffL) << 24;
    }
}
