package dev.mnv3.serve.rest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamReadException;
import dev.mnv3.serve.InferRequest;
import dev.mnv3.serve.RawTensors;
import dev.mnv3.serve.ServeError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
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
 * strings for BYTES. A BYTES element in JSON is base64 (an encoded image is not text); in binary
 * data it is a 4-byte little-endian length and the bytes. Every mistake is a bad request naming it.
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
        List<String> strings;
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
        try (JsonParser p = RestJson.FACTORY.createParser(body, 0, jsonLength)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw bad("the request must be a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                switch (field) {
                    case "id" -> id = string(p, "id");
                    case "parameters" -> parameters = parameters(p, "the request's parameters");
                    case "inputs" -> inputs = inputs(p);
                    case "outputs" -> outputs = outputs(p);
                    default -> p.skipChildren();
                }
            }
            if (p.nextToken() != null) throw bad("unexpected data after the JSON object");
        } catch (StreamReadException e) {
            // Jackson's message without its "(start marker at [Source: ...])" clause: the location is said once, before it
            String what = e.getOriginalMessage().replaceAll("\\s*\\(start marker at .*", "");
            throw bad(e.getLocation() == null ? "malformed JSON: " + what
                    : "malformed JSON at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ": " + what);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (inputs == null) throw bad("the request has no 'inputs'");
        List<InferRequest.Input> decoded = decode(inputs, ByteBuffer.wrap(body, jsonLength, body.length - jsonLength));
        return new InferRequest(id, decoded, outputs, bool(parameters, "binary_data_output", "the request's parameters"));
    }

    private static List<RawInput> inputs(JsonParser p) throws IOException {
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
                    case "data" -> data(p, in, what + ".data");
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

    /** The elements of a (possibly nested) data array: numbers, or strings, not both. */
    private static void data(JsonParser p, RawInput in, String what) throws IOException {
        expect(p, JsonToken.START_ARRAY, what + " must be an array");
        in.hasData = true;
        int depth = 1;
        while (depth > 0) {
            JsonToken t = p.nextToken();
            if (t == null) throw bad(what + " ends early");
            switch (t) {
                case START_ARRAY -> depth++;
                case END_ARRAY -> depth--;
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                    if (in.strings != null) throw bad(what + " mixes numbers and strings");
                    if (in.numbers == null) in.numbers = new FloatList();
                    in.numbers.add(p.getFloatValue());
                }
                case VALUE_STRING -> {
                    if (in.numbers != null) throw bad(what + " mixes numbers and strings");
                    if (in.strings == null) in.strings = new ArrayList<>();
                    in.strings.add(p.getText());
                }
                default -> throw bad(what + " may hold only numbers, strings and nested arrays, found " + p.getText());
            }
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
                if (in.numbers != null) throw bad(what + " is BYTES: its data must be strings (base64)");
                out.add(new InferRequest.Input(in.name, in.datatype, in.shape, null, base64(in.strings, what)));
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

    private static List<byte[]> base64(List<String> strings, String what) {
        List<byte[]> out = new ArrayList<>(strings.size());
        for (int i = 0; i < strings.size(); i++) {
            try {
                out.add(Base64.getDecoder().decode(strings.get(i)));
            } catch (IllegalArgumentException e) {
                throw bad(what + " element " + i + " is not base64: " + e.getMessage());
            }
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

    /** A growable float array: JSON data arrive one number at a time. */
    private static final class FloatList {
        private float[] a = new float[1024];
        private int n;

        void add(float v) {
            if (n == a.length) a = Arrays.copyOf(a, a.length * 2);
            a[n++] = v;
        }

        float[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
