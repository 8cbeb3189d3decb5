package dev.mnv3.core.image;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.CRC32;

/**
 * Walks a PNG file's chunks and checks each CRC and that the file ends with IEND: javax.imageio
 * checks neither, so a damaged or truncated PNG could otherwise decode silently.
 */
final class PngChunks {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private PngChunks() {
    }

    static boolean isPng(byte[] head) {
        if (head.length < SIGNATURE.length) return false;
        for (int i = 0; i < SIGNATURE.length; i++) if (head[i] != SIGNATURE[i]) return false;
        return true;
    }

    /** What is wrong with the chunk structure of a PNG read from its first byte, or null when every chunk is intact. */
    static String problem(InputStream in) throws IOException {
        try {
            in.skipNBytes(SIGNATURE.length);
            byte[] buffer = new byte[1 << 16];
            CRC32 crc = new CRC32();
            while (true) {
                long length = readInt(in) & 0xffffffffL;
                byte[] type = in.readNBytes(4);
                if (type.length < 4) return "truncated (it ends inside a chunk header, before IEND)";
                String name = new String(type, java.nio.charset.StandardCharsets.ISO_8859_1);
                if (length > Integer.MAX_VALUE) return "chunk " + printable(name) + " declares an impossible length " + length;
                crc.reset();
                crc.update(type);
                for (long left = length; left > 0; ) {
                    int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                    if (n < 0) return "truncated (it ends inside chunk " + printable(name) + ", before IEND)";
                    crc.update(buffer, 0, n);
                    left -= n;
                }
                if ((readInt(in) & 0xffffffffL) != crc.getValue()) return "chunk " + printable(name) + " fails its CRC check";
                if (name.equals("IEND")) return null;
            }
        } catch (EOFException e) {
            return "truncated (it ends before IEND)";
        }
    }

    private static int readInt(InputStream in) throws IOException {
        byte[] b = in.readNBytes(4);
        if (b.length < 4) throw new EOFException();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    private static String printable(String name) {
        return name.chars().allMatch(c -> c > 0x20 && c < 0x7f) ? name : "(unnamed)";
    }
}
