package dev.mnv3.serve;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * A request's input made into what the batcher takes ({@link InputImages}), every problem a
 * {@link ServeError.Kind#BAD_REQUEST} that names it: a tensor checked against the model (shape,
 * batch size, finite values unless the model allows others), or encoded images decoded on the
 * {@link CpuWork} threads, one at a time, each into its own crop.
 */
final class RequestInputs {
    private final ServedModel model;
    private final BatchPolicy policy;
    private final RequestImageDecoder decoder;
    private final CpuWork cpu;

    RequestInputs(ServedModel model, BatchPolicy policy, RequestImageDecoder decoder, CpuWork cpu) {
        this.model = model;
        this.policy = policy;
        this.decoder = decoder;
        this.cpu = cpu;
    }

    InputImages of(InferRequest request) {
        List<InferRequest.Input> inputs = request.inputs();
        if (inputs.isEmpty()) {
            throw ServeError.badRequest("the request has no inputs; give '" + ServedModel.INPUT + "' (FP32 or FP16 [N,3,H,W]) or '"
                    + ServedModel.IMAGE + "' (BYTES [N], encoded images)");
        }
        if (inputs.size() > 1) {
            throw ServeError.badRequest("the request has " + inputs.size() + " inputs (" + String.join(", ",
                    inputs.stream().map(InferRequest.Input::name).toList()) + "); give one: '" + ServedModel.INPUT + "' or '"
                    + ServedModel.IMAGE + "'");
        }
        InferRequest.Input in = inputs.getFirst();
        return switch (in.name()) {
            case ServedModel.INPUT -> tensor(in);
            case ServedModel.IMAGE -> images(in);
            default -> throw ServeError.badRequest("unknown input '" + in.name() + "': the model takes '" + ServedModel.INPUT
                    + "' (FP32 or FP16 [N,3,H,W]) or '" + ServedModel.IMAGE + "' (BYTES [N], encoded images)");
        };
    }

    private InputImages tensor(InferRequest.Input in) {
        if (!in.datatype().equals("FP32") && !in.datatype().equals("FP16")) {
            throw ServeError.badRequest("input '" + in.name() + "' must be FP32 or FP16, got " + in.datatype());
        }
        long[] shape = in.shape();
        if (shape.length != 4) {
            throw ServeError.badRequest("input '" + in.name() + "' must have shape [N,3,H,W], got " + Arrays.toString(shape));
        }
        int[] dims = new int[4];
        for (int i = 0; i < 4; i++) {
            if (shape[i] < 1 || shape[i] > Integer.MAX_VALUE) {
                throw ServeError.badRequest("input '" + in.name() + "' has an impossible dimension in " + Arrays.toString(shape));
            }
            dims[i] = (int) shape[i];
        }
        checkElements(in, shape);
        checkBatch(dims[0]);
        try {
            model.graph().checkInput(dims);
        } catch (IllegalArgumentException e) {
            throw ServeError.badRequest(e.getMessage());
        }
        if (!model.nonFiniteInputs()) requireFinite(in.name(), in.floats(), dims);
        return new InputImages(dims[0], dims[2], dims[3], List.of(in.floats()));
    }

    /** BAD_REQUEST naming the first value that is NaN or infinite, by its flat index and its position in the shape. */
    static void requireFinite(String name, float[] v, int[] dims) {
        for (int i = 0; i < v.length; i++) {
            if (Float.isFinite(v[i])) continue;
            int[] at = new int[dims.length];
            for (int d = dims.length - 1, rest = i; d >= 0; rest /= dims[d], d--) at[d] = rest % dims[d];
            throw ServeError.badRequest("input '" + name + "' element " + i + " " + Arrays.toString(at) + " is " + v[i]
                    + ": inputs must be finite (a number beyond FP32's range, such as 1e39, is infinite)");
        }
    }

    private InputImages images(InferRequest.Input in) {
        if (!in.datatype().equals("BYTES")) {
            throw ServeError.badRequest("input '" + in.name() + "' must be BYTES (one encoded image per element), got " + in.datatype());
        }
        long[] shape = in.shape();
        if (!(shape.length == 1 || (shape.length == 2 && shape[1] == 1)) || shape[0] < 1) {
            throw ServeError.badRequest("input '" + in.name() + "' must have shape [N] or [N,1], got " + Arrays.toString(shape));
        }
        checkElements(in, shape);
        int n = (int) shape[0];
        checkBatch(n);
        int crop = model.preprocessing().crop();
        List<float[]> crops = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            byte[] encoded = encodedImage(in.bytes().get(i), i);
            int index = i;
            crops.add(cpu.run(() -> decode(encoded, index)));
        }
        return new InputImages(n, crop, crop, crops);
    }

    private float[] decode(byte[] encoded, int index) {
        try {
            return decoder.decode(encoded, model.preprocessing());
        } catch (ServeError e) {
            throw ServeError.badRequest("input '" + ServedModel.IMAGE + "' element " + index + ": " + e.getMessage());
        } catch (LinkageError e) {
            throw new ServeError(ServeError.Kind.INTERNAL, "this Java runtime cannot decode images (it lacks the java.desktop module)", e);
        }
    }

    /**
     * An element's image: its bytes when they begin as a JPEG, PNG, GIF, BMP or WebP file does,
     * else their base64 decoding (how JSON carries an image in a string).
     */
    static byte[] encodedImage(byte[] element, int index) {
        if (looksLikeImage(element)) return element;
        try {
            return Base64.getDecoder().decode(element);
        } catch (IllegalArgumentException e) {
            throw ServeError.badRequest("input '" + ServedModel.IMAGE + "' element " + index
                    + " is neither an encoded image (JPEG, PNG, WebP, BMP, GIF) nor base64 of one: " + e.getMessage());
        }
    }

    private static boolean looksLikeImage(byte[] b) {
        return starts(b, 0xff, 0xd8, 0xff) || starts(b, 0x89, 'P', 'N', 'G') || starts(b, 'G', 'I', 'F', '8') || starts(b, 'B', 'M')
                || (starts(b, 'R', 'I', 'F', 'F') && b.length >= 12 && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P');
    }

    private static boolean starts(byte[] b, int... magic) {
        if (b.length < magic.length) return false;
        for (int i = 0; i < magic.length; i++) if ((b[i] & 0xff) != magic[i]) return false;
        return true;
    }

    private static void checkElements(InferRequest.Input in, long[] shape) {
        long n = RawTensors.elements(shape, "input '" + in.name() + "'");
        if (n != in.elements()) {
            throw ServeError.badRequest("input '" + in.name() + "' has shape " + Arrays.toString(shape) + " (" + n
                    + " elements) but holds " + in.elements());
        }
    }

    private void checkBatch(int n) {
        int max = policy.maxBatchSize();
        if (n > max) throw ServeError.badRequest("a request holds at most " + max + " images (max_batch_size), got " + n);
    }
}
