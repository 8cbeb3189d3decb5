package dev.mnv3.core.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

/**
 * An animated WebP's canvas and its first frame's place on it, from the RIFF container: the VP8X
 * chunk's canvas size, then the first ANMF chunk's offset and size. Only chunk headers are read.
 */
final class WebpCanvas {
    /** Chunks looked at before the first frame (VP8X, ICCP, ANIM, EXIF, XMP and unknown ones): a file with more is left as it is. */
    private static final int MAX_CHUNKS = 64;

    private WebpCanvas() {
    }

    /** The canvas of an animated WebP whose first frame does not cover it exactly; null for any other file. */
    static FrameCanvas of(ImageSource source) throws IOException {
        try (Bytes in = open(source)) {
            ByteBuffer head = in.read(0, 30);
            if (head.remaining() < 30 || head.getInt(0) != fourcc("RIFF") || head.getInt(8) != fourcc("WEBP")
                    || head.getInt(12) != fourcc("VP8X") || (head.get(20) & 0x02) == 0) {
                return null; // no animation
            }
            int canvasWidth = u24(head, 24) + 1, canvasHeight = u24(head, 27) + 1;
            long at = 12;
            for (int i = 0; i < MAX_CHUNKS; i++) {
                ByteBuffer chunk = in.read(at, 8 + 12);
                if (chunk.remaining() < 8) return null;
                long size = Integer.toUnsignedLong(chunk.getInt(4));
                if (chunk.getInt(0) == fourcc("ANMF")) {
                    if (chunk.remaining() < 20) return null;
                    int x = 2 * u24(chunk, 8), y = 2 * u24(chunk, 11), w = u24(chunk, 14) + 1, h = u24(chunk, 17) + 1;
                    boolean exact = x == 0 && y == 0 && w == canvasWidth && h == canvasHeight;
                    // a frame past the canvas is an invalid file, which the decoder judges
                    boolean inside = (long) x + w <= canvasWidth && (long) y + h <= canvasHeight;
                    return exact || !inside ? null : new FrameCanvas(canvasWidth, canvasHeight, x, y, w, h, 0);
                }
                at += 8 + size + (size & 1);
            }
            return null;
        }
    }

    private static int fourcc(String s) {
        return s.charAt(0) | s.charAt(1) << 8 | s.charAt(2) << 16 | s.charAt(3) << 24;
    }

    private static int u24(ByteBuffer b, int at) {
        return (b.get(at) & 0xff) | (b.get(at + 1) & 0xff) << 8 | (b.get(at + 2) & 0xff) << 16;
    }

    /** Bytes of the file at a position, little-endian; fewer at its end. */
    private interface Bytes extends AutoCloseable {
        ByteBuffer read(long at, int n) throws IOException;

        @Override
        void close() throws IOException;
    }

    private static Bytes open(ImageSource source) throws IOException {
        return switch (source) {
            case ImageSource.Bytes b -> new Bytes() {
                @Override
                public ByteBuffer read(long at, int n) {
                    byte[] d = b.data();
                    int from = (int) Math.min(at, d.length);
                    return ByteBuffer.wrap(d, from, Math.min(n, d.length - from)).slice().order(ByteOrder.LITTLE_ENDIAN);
                }

                @Override
                public void close() {
                }
            };
            case ImageSource.File f -> {
                FileChannel channel = FileChannel.open(f.path(), StandardOpenOption.READ);
                yield new Bytes() {
                    @Override
                    public ByteBuffer read(long at, int n) throws IOException {
                        ByteBuffer buf = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
                        while (buf.hasRemaining() && channel.read(buf, at + buf.position()) > 0) {
                            // until n bytes or the end
                        }
                        return buf.flip();
                    }

                    @Override
                    public void close() throws IOException {
                        channel.close();
                    }
                };
            }
        };
    }
}
