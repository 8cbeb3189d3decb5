package dev.mnv3.core.image;

import javax.imageio.stream.ImageInputStreamImpl;

/** An ImageInputStream over a byte array, read in place (ImageIO's memory streams copy what they read into a cache). */
final class ByteArrayImageStream extends ImageInputStreamImpl {
    private final byte[] data;

    ByteArrayImageStream(byte[] data) {
        this.data = data;
    }

    @Override
    public int read() {
        bitOffset = 0;
        return streamPos < data.length ? data[(int) streamPos++] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        bitOffset = 0;
        if (len == 0) return 0;
        if (streamPos >= data.length) return -1;
        int n = (int) Math.min(len, data.length - streamPos);
        System.arraycopy(data, (int) streamPos, b, off, n);
        streamPos += n;
        return n;
    }

    @Override
    public long length() {
        return data.length;
    }
}
