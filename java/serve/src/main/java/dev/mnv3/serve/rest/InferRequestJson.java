package dev.mnv3.serve.rest;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.NumberInput;
import dev.mnv3.serve.InferRequest;
import dev.mnv3.serve.RawTensors;
import dev.mnv3.serve.ServeError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The REST body of an inference request: KServe v2 JSON, and Triton's binary tensor data
 * extension. With binary data the body is the JSON header (its length in the
 * {@code Inference-Header-Content-Length} header) followed by each binary tensor's bytes, in the
 * order of the inputs whose {@code parameters.binary_data_size} gives their length.
 *
 * <p>JSON {@code data} is a flat or nested array in row-major order: numbers for FP32 and FP16,
 * read from Jackson's characters straight into the tensor's float array (sized from the shape when
 * it comes first), strings for BYTES, whose element is the string's UTF-8 bytes as KServe and
 * Triton define it (an image may be sent as its base64 text: {@code RequestInputs} decodes it);
 * in binary data a BYTES element is a 4-byte little-endian length and the bytes. Every mistake,
 * and every limit of the parser (nesting, string and number length), is a bad request naming it.
 */
public final class InferRequestJson {
    private InferRequestJson() {
    }

    /** An input as the JSON gives it, before its data is decoded. */
    private static final class RawInput {
        String name, datatype;
        long[] shape;
        Map<String, Object> parameters = Map.of();
        FloatList numbers;
        List<byte[]> strings;
        boolean hasData;
    }

    /**
     * The request in {@code body}: its first {@code jsonLength} bytes are JSON, the rest binary
     * tensor data ({@code jsonLength} equal to the body's length: JSON only).
     */
    public static InferRequest read(byte[] body, int jsonLength) {
        String id = "";
        Map<String, Object> parameters = Map.of();
        List<RawInput> inputs = null;
        List<InferRequest.RequestedOutput> outputs = List.of();
        Source source = new Source(new JsonBody(body, jsonLength), new JsonNumbers(), jsonLength / 2 + 1);
        try (JsonParser p = RestJson.FACTORY.createParser(source.body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw bad("the request must be a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                switch (field) {
                    case "id" -> id = string(p, "id");
                    case "parameters" -> parameters = parameters(p, "the request's parameters");
                    case "inputs" -> inputs = inputs(p, source);
                    case "outputs" -> outputs = outputs(p);
                    default -> p.skipChildren();
                }
            }
            if (p.nextToken() != null) throw bad("unexpected data after the JSON object");
        } catch (StreamConstraintsException e) {
            throw bad(located("JSON over a limit", e));
        } catch (JsonProcessingException e) {
            throw bad(located("malformed JSON", e));
        } catch (IOException e) {
            throw bad("could not read the JSON: " + e.getMessage()); // an array source does no I/O
        }
        if (inputs == null) throw bad("the request has no 'inputs'");
        List<InferRequest.Input> decoded = decode(inputs, ByteBuffer.wrap(body, jsonLength, body.length - jsonLength));
        return new InferRequest(id, decoded, outputs, bool(parameters, "binary_data_output", "the request's parameters"));
    }

    /**
     * Jackson's message on one line, where it happened, and without what names Jackson's own
     * settings ("from `StreamReadConstraints...`") or repeats the location ("start marker at ...").
     */
    private static String located(String what, JsonProcessingException e) {
        String m = e.getOriginalMessage().lines().findFirst().orElse("").replaceAll("\\s*\\(start marker at .*", "")
                .replaceAll(", from `[^`]*`\\)", ")");
        JsonLocation at = e.getLocation();
        return at == null ? what + ": " + m : what + " at line " + at.getLineNr() + ", column " + at.getColumnNr() + ": " + m;
    }

    /**
     * The body as Jackson reads it, where flat arrays of numbers are read instead
     * ({@link JsonNumbers}), and the most numbers the body can hold (every number takes two bytes).
     */
    private record Source(JsonBody body, JsonNumbers numbers, int room) {
    }

    private static List<RawInput> inputs(JsonParser p, Source source) throws IOException {
        expect(p, JsonToken.START_ARRAY, "'inputs' must be an array");
        List<RawInput> list = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            expect(p, JsonToken.START_OBJECT, "each of 'inputs' must be an object");
            RawInput in = new RawInput();
            String what = "inputs[" + list.size() + "]";
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                switch (field) {
                    case "name" -> in.name = string(p, what + ".name");
                    case "datatype" -> in.datatype = string(p, what + ".datatype");
                    case "shape" -> in.shape = shape(p, what + ".shape");
                    case "parameters" -> in.parameters = parameters(p, what + ".parameters");
                    case "data" -> data(p, in, what + ".data", expectedNumbers(in, source.room), source);
                    default -> p.skipChildren();
                }
            }
            if (in.name == null) throw bad(what + " has no 'name'");
            if (in.datatype == null) throw bad("input '" + in.name + "' has no 'datatype'");
            if (in.shape == null) throw bad("input '" + in.name + "' has no 'shape'");
            list.add(in);
        }
        return list;
    }

    private static List<InferRequest.RequestedOutput> outputs(JsonParser p) throws IOException {
        expect(p, JsonToken.START_ARRAY, "'outputs' must be an array");
        List<InferRequest.RequestedOutput> list = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            expect(p, JsonToken.START_OBJECT, "each of 'outputs' must be an object");
            String name = null, what = "outputs[" + list.size() + "]";
            Map<String, Object> params = Map.of();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                switch (field) {
                    case "name" -> name = string(p, what + ".name");
                    case "parameters" -> params = parameters(p, what + ".parameters");
                    default -> p.skipChildren();
                }
            }
            if (name == null) throw bad(what + " has no 'name'");
            Boolean binary = params.containsKey("binary_data") ? bool(params, "binary_data", "output '" + name + "'") : null;
            long k = params.containsKey("classification") ? integer(params, "classification", "output '" + name + "'") : 0;
            if (k < 0 || k > Integer.MAX_VALUE) throw bad("output '" + name + "': classification must be >= 1, got " + k);
            list.add(new InferRequest.RequestedOutput(name, binary, (int) k));
        }
        return list;
    }

    /**
     * How many numbers the data should hold, when the shape came before it and is plausible for
     * the body (every number takes at least two bytes): the array is then allocated once.
     */
    private static int expectedNumbers(RawInput in, int room) {
        if (in.shape == null) return 0;
        long n = 1;
        for (long d : in.shape) {
            if (d < 0 || (d != 0 && n > Integer.MAX_VALUE / d)) return 0;
            n *= d;
        }
        return n <= room ? (int) n : 0;
    }

    /**
     * The elements of a (possibly nested) data array: numbers, or strings, not both. A flat array
     * of numbers is read from the bytes (when Jackson has read nothing past its '['), the rest
     * through Jackson's tokens.
     */
    private static void data(JsonParser p, RawInput in, String what, int expected, Source source) throws IOException {
        expect(p, JsonToken.START_ARRAY, what + " must be an array");
        in.hasData = true;
        JsonBody body = source.body;
        if (p.currentLocation().getByteOffset() == body.position()) {
            FloatList numbers = new FloatList(expected);
            if (source.numbers.scan(body.bytes, body.position(), body.end, numbers)) {
                body.skipTo(source.numbers.end);
                if (p.nextToken() != JsonToken.END_ARRAY) throw new IllegalStateException("the array did not end where it was read to");
                in.numbers = numbers.size() > 0 ? numbers : null;
                return;
            }
        }
        int depth = 1;
        while (depth > 0) {
            JsonToken t = p.nextToken();
            if (t == null) throw bad(what + " ends early");
            switch (t) {
                case START_ARRAY -> depth++;
                case END_ARRAY -> depth--;
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                    if (in.strings != null) throw bad(what + " mixes numbers and strings");
                    if (in.numbers == null) in.numbers = new FloatList(expected);
                    in.numbers.add(number(p, what));
                }
                case VALUE_STRING -> {
                    if (in.numbers != null) throw bad(what + " mixes numbers and strings");
                    if (in.strings == null) in.strings = new ArrayList<>();
                    in.strings.add(p.getText().getBytes(StandardCharsets.UTF_8));
                }
                default -> throw bad(what + " may hold only numbers, strings and nested arrays, found " + p.getText());
            }
        }
    }

    /**
     * The number Jackson's characters spell, rounded to the nearest float as Float.parseFloat
     * rounds it, without a String or any other object per number. One beyond FP32's range is an
     * infinity, which the service refuses naming it.
     */
    private static float number(JsonParser p, String what) throws IOException {
        try {
            return NumberInput.parseFloat(p.getTextCharacters(), p.getTextOffset(), p.getTextLength(), true);
        } catch (NumberFormatException e) {
            throw bad(what + " holds '" + p.getText() + "', which is not a number");
        }
    }

    private static List<InferRequest.Input> decode(List<RawInput> inputs, ByteBuffer binary) {
        List<InferRequest.Input> out = new ArrayList<>();
        int offset = binary.position();
        for (RawInput in : inputs) {
            String what = "input '" + in.name + "'";
            int size = RawTensors.elementSize(in.datatype);
            long elements = RawTensors.elements(in.shape, what);
            if (in.parameters.containsKey("binary_data_size")) {
                if (in.hasData) throw bad(what + " has both 'data' and binary_data_size");
                long n = integer(in.parameters, "binary_data_size", what);
                if (n < 0 || n > binary.limit() - offset) {
                    throw bad(what + ": binary_data_size " + n + " exceeds the " + (binary.limit() - offset)
                            + " bytes of binary data left after the JSON header");
                }
                ByteBuffer raw = binary.duplicate().position(offset).limit(offset + (int) n);
                offset += (int) n;
                out.add(size == 0 ? new InferRequest.Input(in.name, in.datatype, in.shape, null, RawTensors.strings(raw, what))
                        : new InferRequest.Input(in.name, in.datatype, in.shape, RawTensors.floats(raw, in.datatype, elements, what), null));
            } else if (!in.hasData) {
                throw bad(what + " has neither 'data' nor a binary_data_size parameter");
            } else if (size == 0) {
                if (in.numbers != null) throw bad(what + " is BYTES: its data must be strings");
                out.add(new InferRequest.Input(in.name, in.datatype, in.shape, null, in.strings == null ? List.of() : in.strings));
            } else {
                if (in.strings != null) throw bad(what + " is " + in.datatype + ": its data must be numbers");
                float[] v = in.numbers == null ? new float[0] : in.numbers.toArray();
                if (size == 2) for (int i = 0; i < v.length; i++) v[i] = Float.float16ToFloat(Float.floatToFloat16(v[i]));
                out.add(new InferRequest.Input(in.name, in.datatype, in.shape, v, null));
            }
        }
        if (offset != binary.limit()) {
            throw bad("the body holds " + (binary.limit() - binary.position()) + " bytes of binary data after the JSON header, but the "
                    + "inputs' binary_data_size add up to " + (offset - binary.position()));
        }
        return out;
    }

    private static long[] shape(JsonParser p, String what) throws IOException {
        expect(p, JsonToken.START_ARRAY, what + " must be an array of integers");
        long[] dims = new long[8];
        int n = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) throw bad(what + " must be an array of integers");
            if (n == 16) throw bad(what + " has more than 16 dimensions");
            if (n == dims.length) dims = Arrays.copyOf(dims, 16);
            dims[n++] = p.getLongValue();
        }
        return Arrays.copyOf(dims, n);
    }

    /** A parameters object: names to booleans, integers, numbers or strings. */
    private static Map<String, Object> parameters(JsonParser p, String what) throws IOException {
        expect(p, JsonToken.START_OBJECT, what + " must be an object");
        Map<String, Object> m = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            if (t == null) throw bad(what + " ends early");
            Object v = switch (t) {
                case VALUE_TRUE -> Boolean.TRUE;
                case VALUE_FALSE -> Boolean.FALSE;
                case VALUE_NUMBER_INT -> p.getLongValue();
                case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
                case VALUE_STRING -> p.getText();
                default -> throw bad(what + ": parameter '" + name + "' must be a boolean, number or string");
            };
            m.put(name, v);
        }
        return m;
    }

    private static String string(JsonParser p, String what) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_STRING) throw bad(what + " must be a string");
        return p.getText();
    }

    private static boolean bool(Map<String, Object> params, String name, String what) {
        Object v = params.get(name);
        if (v == null) return false;
        if (v instanceof Boolean b) return b;
        throw bad(what + ": parameter '" + name + "' must be true or false, got " + v);
    }

    private static long integer(Map<String, Object> params, String name, String what) {
        if (params.get(name) instanceof Long l) return l;
        throw bad(what + ": parameter '" + name + "' must be an integer, got " + params.get(name));
    }

    private static void expect(JsonParser p, JsonToken token, String message) {
        if (p.currentToken() != token) throw bad(message);
    }

    private static ServeError bad(String message) {
        return ServeError.badRequest(message);
    }

    /**
     * A float array that JSON data fill one number at a time: allocated at the size expected when
     * that is known (and then handed over as it is), grown otherwise.
     */
    private static final class FloatList implements JsonNumbers.FloatSink {
        private float[] a;
        private int n;

        FloatList(int expected) {
            a = new float[expected > 0 ? expected : 1024];
        }

        @Override
        public void add(float v) {
            if (n == a.length) a = Arrays.copyOf(a, a.length * 2);
            a[n++] = v;
        }

        @Override
        public int size() {
            return n;
        }

        @Override
        public void truncate(int size) {
            n = size;
        }

        float[] toArray() {
            return n == a.length ? a : Arrays.copyOf(a, n);
        }
    }
}
