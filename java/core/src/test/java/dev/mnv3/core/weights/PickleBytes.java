package dev.mnv3.core.weights;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Writes pickles opcode by opcode, for hostile and hand-made state_dicts. */
final class PickleBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** Begins with PROTO 2, as torch.save does. */
    static PickleBytes proto2() {
        return new PickleBytes().op(0x80).op(2);
    }

    PickleBytes op(int... bytes) {
        for (int b : bytes) out.write(b);
        return this;
    }

    PickleBytes global(String module, String name) {
        op('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        return this;
    }

    PickleBytes string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X', b.length & 0xff, b.length >>> 8 & 0xff, b.length >>> 16 & 0xff, b.length >>> 24);
        out.writeBytes(b);
        return this;
    }

    PickleBytes integer(int v) {
        return op('J', v & 0xff, v >>> 8 & 0xff, v >>> 16 & 0xff, v >>> 24);
    }

    /** ('storage', torch.<type>, key, 'cpu', numel) BINPERSID */
    PickleBytes storage(String type, String key, int numel) {
        op('(').string("storage").global("torch", type).string(key).string("cpu").integer(numel).op('t', 'Q');
        return this;
    }

    /** _rebuild_tensor_v2(storage, offset, shape, stride, False, OrderedDict()) with the storage's ops given first. */
    PickleBytes tensor(String type, String key, int numel, int offset, int[] shape, int[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").op('(');
        storage(type, key, numel).integer(offset);
        op('(');
        for (int s : shape) integer(s);
        op('t', '(');
        for (int s : stride) integer(s);
        op('t', 0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R');
        return this;
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
