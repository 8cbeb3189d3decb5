package dev.mnv3.serve.rest;

import java.io.InputStream;

/**
 * The JSON part of a request body as Jackson reads it: in pieces that each end just after a '['.
 * When Jackson has returned an array's start, nothing after it is in Jackson's buffer, so a flat
 * array of numbers can be read here instead ({@link JsonNumbers}) and Jackson handed the rest from
 * its closing ']' on ({@link #skipTo}). A '[' inside a string only makes a piece shorter.
 */
final class JsonBody extends InputStream {
    final byte[] bytes;
    final int end;
    private int position;

    JsonBody(byte[] bytes, int end) {
        this.bytes = bytes;
        this.end = end;
    }

    /** The index of the next byte Jackson will be given. */
    int position() {
        return position;
    }

    /** Jackson is given the bytes from {@code index} on next: those before it were read here. */
    void skipTo(int index) {
        position = index;
    }

    @Override
    public int read() {
        return position < end ? bytes[position++] & 0xff : -1;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) {
        if (length == 0) return 0;
        if (position >= end) return -1;
        int n = Math.min(length, end - position);
        for (int k = 0; k < n; k++) {
            if (bytes[position + k] == '[') {
                n = k + 1;
                break;
            }
        }
        System.arraycopy(bytes, position, buffer, offset, n);
        position += n;
        return n;
    }
}
