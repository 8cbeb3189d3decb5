package dev.mnv3.core.weights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes safetensors files byte by byte, so tests can build files the real writer never would. */
final class RawSafeTensors {
    private RawSafeTensors() {
    }

    /** An 8-byte little-endian length of {@code header}, the header as UTF-8, then {@code data}. */
    static Path write(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return write(file, h.length, h, data);
    }

    /** Like {@link #write(Path, String, byte[])} with a header length that need not be the true one. */
    static Path write(Path file, long declaredHeaderLength, byte[] header, byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(le64(declaredHeaderLength));
        out.writeBytes(header);
        out.writeBytes(data);
        return Files.write(file, out.toByteArray());
    }

    static byte[] le64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    static byte[] f32(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return b.array();
    }

    /** The header length the file declares (its first 8 bytes). */
    static long headerLength(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        return ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** The header text exactly as stored, padding included. */
    static String headerText(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        return new String(all, 8, Math.toIntExact(headerLength(file)), StandardCharsets.UTF_8);
    }
}
