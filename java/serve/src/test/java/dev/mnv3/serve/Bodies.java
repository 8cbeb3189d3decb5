package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.image.RgbImage;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;

/** Request bodies as clients send them, written by hand so that the server's parser is tested against the format, not itself. */
final class Bodies {
    /** The parity tolerance against the directly run model: served results go through no arithmetic of their own. */
    static final double TOLERANCE = 1e-6;

    private Bodies() {
    }

    static String shape(int[] s) {
        return Arrays.stream(s).mapToObj(Integer::toString).collect(Collectors.joining(",", "[", "]"));
    }

    /** KServe JSON with the data inline, floats printed so that they read back exactly. */
    static String json(Tensor x, String outputs) {
        String data = IntStream.range(0, x.size()).mapToObj(i -> Float.toString(x.data()[i])).collect(Collectors.joining(","));
        return "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":" + shape(x.shape()) + ",\"data\":[" + data + "]}]"
                + (outputs == null ? "" : ",\"outputs\":" + outputs) + "}";
    }

    /** A body with Triton's binary tensor data: the JSON header, then the raw bytes; its header length is {@link #headerLength}. */
    record Binary(byte[] body, int headerLength) {
    }

    static Binary binary(String header, byte[]... raw) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(h);
        for (byte[] r : raw) out.writeBytes(r);
        return new Binary(out.toByteArray(), h.length);
    }

    static Binary binary(Tensor x, String outputs) {
        byte[] raw = littleEndian(x.data());
        return binary("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":" + shape(x.shape())
                + ",\"parameters\":{\"binary_data_size\":" + raw.length + "}}],\"parameters\":{\"binary_data_output\":true}"
                + (outputs == null ? "" : ",\"outputs\":" + outputs) + "}", raw);
    }

    static byte[] littleEndian(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }

    static float[] floats(byte[] raw, int offset, int length) {
        float[] v = new float[length / 4];
        ByteBuffer.wrap(raw, offset, length).slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return v;
    }

    /** One BYTES element as binary tensor data: its length, then its bytes. */
    static byte[] bytesElement(byte[] e) {
        return ByteBuffer.allocate(4 + e.length).order(ByteOrder.LITTLE_ENDIAN).putInt(e.length).put(e).array();
    }

    /** A photo-like test image: smooth gradients plus noise, encoded as {@code format} (png, jpg). */
    static byte[] image(int width, int height, long seed, String format) throws IOException {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int r = (x * 255 / width + rnd.nextInt(40)) & 0xff, g = (y * 255 / height + rnd.nextInt(40)) & 0xff, b = rnd.nextInt(256);
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, format.toLowerCase(Locale.ROOT), out);
        return out.toByteArray();
    }

    /** The model input classify makes of an encoded image: ImageIO's pixels, then the preprocessing. */
    static Tensor classifyInput(byte[] encoded) throws IOException {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(encoded));
        int w = img.getWidth(), h = img.getHeight();
        int[] rgb = img.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < rgb.length; i++) rgb[i] &= 0xffffff;
        return TestServer.PREPROCESSING.apply(new RgbImage(w, h, rgb));
    }

    /**
     * Served values match the reference within {@link #TOLERANCE}, and the check can fail:
     * {@code other} (the reference on another input) differs from it by far more.
     */
    static void assertParity(String what, float[] served, Tensor expected, Tensor other) {
        double err = TensorDiff.of(served, expected.data()).relL2();
        assertTrue(err <= TOLERANCE, what + ": rel L2 " + err + " against the model run directly");
        double moved = TensorDiff.of(other.data(), expected.data()).relL2();
        assertTrue(moved > 1e-2, what + ": another input moves the results by only " + moved + ", so this check could not fail");
    }
}
