package dev.mnv3.client;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A client for mnv3 serve, or any server speaking KServe v2 REST with Triton's binary tensor
 * data extension (Triton itself): tensors travel as raw little-endian bytes after a small JSON
 * header, both ways, so nothing is printed as decimal text. Thread-safe; one instance per server
 * is enough (it keeps its connections).
 *
 * <pre>{@code
 * try (InferenceClient client = new InferenceClient(URI.create("http://localhost:8000"))) {
 *     float[] logits = client.infer("large", "input", pixels, 1, 3, 224, 224).get("logits").floats();
 *     List<InferenceClient.Classification> top5 = client.classify("large", Files.readAllBytes(jpeg), 5);
 * }
 * }</pre>
 */
public final class InferenceClient implements AutoCloseable {
    private static final String HEADER_LENGTH = "Inference-Header-Content-Length";
    private static final JsonFactory JSON = new JsonFactory();

    private final URI base;
    private final HttpClient http;
    private final Duration timeout;

    /** An output tensor: FP32 data as {@code floats}, BYTES data as {@code strings} (UTF-8). */
    public record Output(String name, String datatype, long[] shape, float[] floats, List<String> strings) {
    }

    /** One of the top classes of an image: Triton's classification extension, parsed. */
    public record Classification(float score, int index, String label) {
    }

    /** The server answered with an error: its HTTP status and its {@code error} message. */
    public static final class InferenceException extends RuntimeException {
        private final int status;

        public InferenceException(int status, String message) {
            super("HTTP " + status + ": " + message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    /** A client of the server at {@code base} (e.g. http://localhost:8000), 60 s per request. */
    public InferenceClient(URI base) {
        this(base, Duration.ofSeconds(60));
    }

    public InferenceClient(URI base, Duration timeout) {
        notNull(base, "base", "the server's URI, e.g. http://localhost:8000");
        notNull(timeout, "timeout", "a Duration");
        this.base = URI.create(base.toString().replaceAll("/+$", "") + "/");
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build();
    }

    public boolean live() {
        return get("v2/health/live").statusCode() == 200;
    }

    public boolean ready() {
        return get("v2/health/ready").statusCode() == 200;
    }

    public boolean modelReady(String model) {
        return get("v2/models/" + encode(model) + "/ready").statusCode() == 200;
    }

    /**
     * Runs a FP32 tensor through {@code model}'s input {@code input} and returns the outputs
     * (the model's default ones unless {@code outputs} names some), by name.
     */
    public Map<String, Output> infer(String model, String input, float[] data, long[] shape, String... outputs) {
        notNull(input, "input", "the name of the model's input, e.g. \"input\"");
        checkShape(notNull(data, "data", "the tensor's values"), notNull(shape, "shape", "the tensor's dimensions"));
        ByteBuffer raw = ByteBuffer.allocate(4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(data);
        return infer(model, input, "FP32", shape, raw.array(), outputs, 0);
    }

    /** {@link #infer(String, String, float[], long[], String...)} with the shape last, e.g. {@code 1, 3, 224, 224}. */
    public Map<String, Output> infer(String model, String input, float[] data, long... shape) {
        return infer(model, input, data, shape, new String[0]);
    }

    /** The {@code top} classes of an encoded image (JPEG, PNG, ...), decoded and preprocessed by the server. */
    public List<Classification> classify(String model, byte[] image, int top) {
        notNull(image, "image", "the bytes of an encoded image");
        if (top < 1) throw new IllegalArgumentException("top is " + top + ", expected >= 1");
        ByteBuffer raw = ByteBuffer.allocate(4 + image.length).order(ByteOrder.LITTLE_ENDIAN).putInt(image.length).put(image);
        Output out = infer(model, "image", "BYTES", new long[] {1, 1}, raw.array(), new String[] {"logits"}, top).get("logits");
        List<Classification> classes = new ArrayList<>();
        for (String s : out.strings()) {
            String[] f = s.split(":", 3);
            classes.add(new Classification(Float.parseFloat(f[0]), Integer.parseInt(f[1]), f.length > 2 ? f[2] : ""));
        }
        return classes;
    }

    private Map<String, Output> infer(String model, String input, String datatype, long[] shape, byte[] raw, String[] outputs,
                                      int classification) {
        notNull(model, "model", "the name of a served model, e.g. \"large\"");
        for (int i = 0; i < notNull(outputs, "outputs", "output names").length; i++) {
            if (outputs[i] == null) throw new IllegalArgumentException("outputs[" + i + "] is null: expected an output name");
        }
        byte[] header = requestHeader(input, datatype, shape, raw.length, outputs, classification);
        byte[] body = new byte[header.length + raw.length];
        System.arraycopy(header, 0, body, 0, header.length);
        System.arraycopy(raw, 0, body, header.length, raw.length);
        HttpRequest req = HttpRequest.newBuilder(base.resolve("v2/models/" + encode(model) + "/infer")).timeout(timeout)
                .header("Content-Type", "application/octet-stream").header(HEADER_LENGTH, Integer.toString(header.length))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        HttpResponse<byte[]> resp = send(req);
        if (resp.statusCode() != 200) throw new InferenceException(resp.statusCode(), errorMessage(resp.body()));
        int jsonLength = resp.headers().firstValue(HEADER_LENGTH).map(Integer::parseInt).orElse(resp.body().length);
        return parseResponse(resp.body(), jsonLength);
    }

    /** The caller's arguments, checked here: a misuse is one line naming the argument, not the server's 400 or an NPE. */
    private static <T> T notNull(T value, String name, String expected) {
        if (value == null) throw new IllegalArgumentException(name + " is null: expected " + expected);
        return value;
    }

    /** Checks that {@code shape}'s dimensions are >= 0 and hold exactly the {@code data.length} values given. */
    private static void checkShape(float[] data, long[] shape) {
        long n = -1; // more than 2^63
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " has a negative dimension");
        }
        try {
            n = java.util.Arrays.stream(shape).anyMatch(d -> d == 0) ? 0 : java.util.Arrays.stream(shape).reduce(1, Math::multiplyExact);
        } catch (ArithmeticException e) {
            // n stays -1
        }
        if (n != data.length) {
            throw new IllegalArgumentException("data has " + data.length + " values, but shape " + java.util.Arrays.toString(shape)
                    + " holds " + (n < 0 ? "more than 2^63" : n));
        }
    }

    private static byte[] requestHeader(String input, String datatype, long[] shape, int rawLength, String[] outputs,
                                        int classification) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeArrayFieldStart("inputs");
            g.writeStartObject();
            g.writeStringField("name", input);
            g.writeStringField("datatype", datatype);
            g.writeArrayFieldStart("shape");
            for (long d : shape) g.writeNumber(d);
            g.writeEndArray();
            g.writeObjectFieldStart("parameters");
            g.writeNumberField("binary_data_size", rawLength);
            g.writeEndObject();
            g.writeEndObject();
            g.writeEndArray();
            g.writeObjectFieldStart("parameters");
            g.writeBooleanField("binary_data_output", true);
            g.writeEndObject();
            if (outputs.length > 0) {
                g.writeArrayFieldStart("outputs");
                for (String name : outputs) {
                    g.writeStartObject();
                    g.writeStringField("name", name);
                    if (classification > 0) {
                        g.writeObjectFieldStart("parameters");
                        g.writeNumberField("classification", classification);
                        g.writeEndObject();
                    }
                    g.writeEndObject();
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** The outputs of a response: JSON metadata, data inline or in the binary part that follows it. */
    private static Map<String, Output> parseResponse(byte[] body, int jsonLength) {
        record Meta(String name, String datatype, long[] shape, long binarySize, List<Object> data) {
        }
        List<Meta> metas = new ArrayList<>();
        try (JsonParser p = JSON.createParser(body, 0, jsonLength)) {
            p.nextToken();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if (!field.equals("outputs")) {
                    p.skipChildren();
                    continue;
                }
                while (p.nextToken() == JsonToken.START_OBJECT) {
                    String name = null, datatype = null;
                    long[] shape = new long[0];
                    long binarySize = -1;
                    List<Object> data = new ArrayList<>();
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String f = p.currentName();
                        p.nextToken();
                        switch (f) {
                            case "name" -> name = p.getText();
                            case "datatype" -> datatype = p.getText();
                            case "shape" -> {
                                List<Long> dims = new ArrayList<>();
                                while (p.nextToken() != JsonToken.END_ARRAY) dims.add(p.getLongValue());
                                shape = dims.stream().mapToLong(Long::longValue).toArray();
                            }
                            case "parameters" -> {
                                while (p.nextToken() == JsonToken.FIELD_NAME) {
                                    String k = p.currentName();
                                    p.nextToken();
                                    if (k.equals("binary_data_size")) binarySize = p.getLongValue();
                                    else p.skipChildren();
                                }
                            }
                            case "data" -> {
                                for (int depth = 1; depth > 0; ) {
                                    JsonToken t = p.nextToken();
                                    if (t == JsonToken.START_ARRAY) depth++;
                                    else if (t == JsonToken.END_ARRAY) depth--;
                                    else if (t == JsonToken.VALUE_STRING) data.add(p.getText());
                                    else if (t.isNumeric()) data.add(p.getFloatValue());
                                }
                            }
                            default -> p.skipChildren();
                        }
                    }
                    metas.add(new Meta(name, datatype, shape, binarySize, data));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("malformed response from the server", e);
        }
        Map<String, Output> outputs = new LinkedHashMap<>();
        ByteBuffer binary = ByteBuffer.wrap(body, jsonLength, body.length - jsonLength).slice().order(ByteOrder.LITTLE_ENDIAN);
        for (Meta m : metas) {
            boolean bytes = "BYTES".equals(m.datatype);
            float[] floats = null;
            List<String> strings = null;
            if (m.binarySize >= 0) {
                ByteBuffer part = binary.slice(binary.position(), (int) m.binarySize).order(ByteOrder.LITTLE_ENDIAN);
                binary.position(binary.position() + (int) m.binarySize);
                if (bytes) {
                    strings = new ArrayList<>();
                    while (part.hasRemaining()) {
                        byte[] s = new byte[part.getInt()];
                        part.get(s);
                        strings.add(new String(s, StandardCharsets.UTF_8));
                    }
                } else {
                    floats = new float[(int) m.binarySize / 4];
                    part.asFloatBuffer().get(floats);
                }
            } else if (bytes) {
                strings = m.data.stream().map(String::valueOf).toList();
            } else {
                floats = new float[m.data.size()];
                for (int i = 0; i < floats.length; i++) floats[i] = (Float) m.data.get(i);
            }
            outputs.put(m.name, new Output(m.name, m.datatype, m.shape, floats, strings));
        }
        return outputs;
    }

    private static String errorMessage(byte[] body) {
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String f = p.currentName();
                    p.nextToken();
                    if (f.equals("error")) return p.getText();
                    p.skipChildren();
                }
            }
        } catch (IOException e) {
            // not KServe's error body: report it as text below
        }
        return new String(body, StandardCharsets.UTF_8);
    }

    private HttpResponse<byte[]> get(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).timeout(timeout).GET().build());
    }

    private HttpResponse<byte[]> send(HttpRequest req) {
        try {
            return http.send(req, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException("request to " + req.uri() + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + req.uri(), e);
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    @Override
    public void close() {
        http.close();
    }

    @Override
    public String toString() {
        return "InferenceClient[" + base + "]";
    }
}
