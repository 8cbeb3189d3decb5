package dev.mnv3.serve;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Tensor elements as raw bytes, the encoding of Triton's binary tensor data extension (REST) and
 * of KServe's raw_input_contents / raw_output_contents (gRPC): little-endian, row-major, no
 * padding; a BYTES element is a 4-byte little-endian length followed by that many bytes.
 */
public final class RawTensors {
    private RawTensors() {
    }

    /** Bytes per element of a numeric datatype we accept, or 0 for BYTES. */
    public static int elementSize(String datatype) {
        return switch (datatype) {
            case "FP32" -> 4;
            case "FP16" -> 2;
            case "BYTES" -> 0;
            default -> throw ServeError.badRequest("datatype " + datatype + " is not supported (FP32, FP16 or BYTES)");
        };
    }

    /** The number of elements a shape holds; a negative or overflowing shape is a BAD_REQUEST naming {@code what}. */
    public static long elements(long[] shape, String what) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw ServeError.badRequest(what + " has a negative dimension in " + Arrays.toString(shape));
            if (d != 0 && n > Long.MAX_VALUE / d) throw ServeError.badRequest(what + " has an impossibly large shape " + Arrays.toString(shape));
            n *= d;
        }
        return n;
    }

    /** FP32 or FP16 elements as floats; {@code what} names the tensor in the error when the size is wrong. */
    public static float[] floats(ByteBuffer raw, String datatype, long count, String what) {
        int size = elementSize(datatype);
        if (size == 0) throw new IllegalArgumentException("BYTES is not a numeric datatype");
        if (count > Integer.MAX_VALUE / size || raw.remaining() != count * size) {
            throw ServeError.badRequest(what + ": " + raw.remaining() + " bytes of " + datatype + " data, but its shape holds "
                    + count + " elements (" + count * size + " bytes)");
        }
        ByteBuffer b = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[(int) count];
        if (size == 4) {
            b.asFloatBuffer().get(out);
        } else {
            for (int i = 0; i < out.length; i++) out[i] = Float.float16ToFloat(b.getShort(2 * i));
        }
        return out;
    }

    /** Length-prefixed BYTES elements; every byte must belong to an element. */
    public static List<byte[]> strings(ByteBuffer raw, String what) {
        ByteBuffer b = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> out = new ArrayList<>();
        while (b.hasRemaining()) {
            if (b.remaining() < 4) {
                throw ServeError.badRequest(what + ": BYTES data ends inside the 4-byte length of element " + out.size());
            }
            int n = b.getInt();
            if (n < 0 || n > b.remaining()) {
                throw ServeError.badRequest(what + ": BYTES element " + out.size() + " declares " + Integer.toUnsignedString(n)
                        + " bytes, but only " + b.remaining() + " follow");
            }
            byte[] e = new byte[n];
            b.get(e);
            out.add(e);
        }
        return out;
    }

    public static byte[] encode(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    public static byte[] encode(List<byte[]> strings) {
        int n = 0;
        for (byte[] s : strings) n += 4 + s.length;
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        for (byte[] s : strings) b.putInt(s.length).put(s);
        return b.array();
    }

    /** The size of {@link #encode(List)}'s result. */
    public static int encodedSize(InferResponse.Output o) {
        if (o.floats() != null) return 4 * o.floats().length;
        int n = 0;
        for (byte[] s : o.strings()) n += 4 + s.length;
        return n;
    }

    public static byte[] encode(InferResponse.Output o) {
        return o.floats() != null ? encode(o.floats()) : encode(o.strings());
    }
}
