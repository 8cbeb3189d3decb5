package dev.mnv3.core;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Strict JSON (RFC 8259) for safetensors headers and table files, read with Jackson's streaming
 * parser. Objects become insertion-ordered maps, arrays lists, integers {@link Long}, other numbers
 * {@link Double}. On top of Jackson's strictness: duplicate keys are an error, containers nest at
 * most {@value #MAX_DEPTH} deep, an integer beyond {@code long} is an error rather than a
 * {@code BigInteger}, and nothing but whitespace may follow the value. Every error is one line,
 * {@code invalid JSON at offset N: what}: N is where Jackson stopped, and what it found there is
 * told from the grammar ({@link JsonSyntax}), not from Jackson's messages (which name its feature
 * flags and change between versions).
 */
public final class Json {
    private static final int MAX_DEPTH = 64;
    private static final StreamReadConstraints LIMITS = StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build();

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            // names come from untrusted files: no interning into the JVM's string table
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .streamReadConstraints(LIMITS)
            .build();

    private Json() {}

    /**
     * mnv3's one Jackson factory, for reading and writing JSON anywhere in the project: duplicate
     * keys refused, names from untrusted input never interned, nesting at most {@value #MAX_DEPTH}
     * deep, and Jackson's default bounds on string and number lengths.
     */
    public static JsonFactory factory() {
        return FACTORY;
    }

    /** Parses one JSON value that must span the whole text. */
    public static Object parse(String text) {
        try (JsonParser p = FACTORY.createParser(text)) {
            // duplicates found here rather than by Jackson, so that the error can name the key where it starts
            p.disable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
            if (p.nextToken() == null) throw JsonSyntax.error(text.length(), "unexpected end");
            Object v = value(p);
            int end = (int) p.currentLocation().getCharOffset();
            while (end < text.length() && JsonSyntax.isSpace(text.charAt(end))) end++;
            if (end != text.length()) throw JsonSyntax.error(end, "unexpected text after the JSON value");
            return v;
        } catch (JsonProcessingException e) {
            long at = e.getLocation() == null ? -1 : e.getLocation().getCharOffset();
            throw JsonSyntax.explain(text, at < 0 ? text.length() : (int) Math.min(at, text.length()), e instanceof StreamConstraintsException,
                    MAX_DEPTH, LIMITS);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e); // a String source does no I/O
        }
    }

    /** The value whose first token {@code p} is on; containers recurse, at most MAX_DEPTH deep. */
    private static Object value(JsonParser p) throws java.io.IOException {
        return switch (p.currentToken()) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                    String key = p.currentName();
                    int keyAt = (int) p.currentTokenLocation().getCharOffset();
                    p.nextToken();
                    if (m.containsKey(key)) throw JsonSyntax.error(keyAt, "duplicate key " + quote(key));
                    m.put(key, value(p));
                }
                yield m;
            }
            case START_ARRAY -> {
                List<Object> a = new ArrayList<>();
                for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) a.add(value(p));
                yield a;
            }
            case VALUE_STRING -> p.getText();
            case VALUE_NUMBER_INT -> {
                if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                    throw JsonSyntax.error((int) p.currentTokenLocation().getCharOffset(), "integer out of range: " + p.getText());
                }
                yield p.getLongValue();
            }
            case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> null;
            default -> throw JsonSyntax.error((int) p.currentTokenLocation().getCharOffset(), "unexpected " + p.currentToken());
        };
    }

    // ---- typed access with errors that name the field ----

    @SuppressWarnings("unchecked")
    public static Map<String, Object> object(Object v, String what) {
        if (v instanceof Map<?, ?> m) return (Map<String, Object>) m;
        throw new IllegalArgumentException(what + " must be a JSON object, found " + kind(v));
    }

    @SuppressWarnings("unchecked")
    public static List<Object> array(Object v, String what) {
        if (v instanceof List<?> l) return (List<Object>) l;
        throw new IllegalArgumentException(what + " must be a JSON array, found " + kind(v));
    }

    public static String string(Object v, String what) {
        if (v instanceof String str) return str;
        throw new IllegalArgumentException(what + " must be a string, found " + kind(v));
    }

    public static long longValue(Object v, String what) {
        if (v instanceof Long l) return l;
        throw new IllegalArgumentException(what + " must be an integer, found " + kind(v));
    }

    public static int intValue(Object v, String what) {
        long l = longValue(v, what);
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(what + " is out of range: " + l);
        }
        return (int) l;
    }

    public static double doubleValue(Object v, String what) {
        if (v instanceof Long l) return l;
        if (v instanceof Double d) return d;
        throw new IllegalArgumentException(what + " must be a number, found " + kind(v));
    }

    public static boolean bool(Object v, String what) {
        if (v instanceof Boolean b) return b;
        throw new IllegalArgumentException(what + " must be true or false, found " + kind(v));
    }

    /** Fails on any key outside {@code allowed}, so that typos do not pass silently. */
    public static void checkKeys(Map<String, Object> m, String what, String... allowed) {
        List<String> ok = List.of(allowed);
        for (String k : m.keySet()) {
            if (!ok.contains(k)) {
                throw new IllegalArgumentException(what + ": unknown field \"" + k + "\" (allowed: " + String.join(", ", ok) + ")");
            }
        }
    }

    static String kind(Object v) {
        if (v == null) return "null";
        if (v instanceof Map) return "an object";
        if (v instanceof List) return "an array";
        if (v instanceof String) return "a string";
        if (v instanceof Boolean) return "a boolean";
        return "the number " + v;
    }

    /** Writes {@code s} as a JSON string literal. */
    public static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }
}
