package dev.mnv3.core;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
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
 * {@code invalid JSON at offset N: what}, in our words rather than Jackson's (which name its
 * feature flags).
 */
public final class Json {
    private static final int MAX_DEPTH = 64;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            // names come from untrusted files: no interning into the JVM's string table
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
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
            if (p.nextToken() == null) throw error(text.length(), "unexpected end");
            Object v = value(p);
            int end = (int) p.currentLocation().getCharOffset();
            while (end < text.length() && isSpace(text.charAt(end))) end++;
            if (end != text.length()) throw error(end, "unexpected text after the JSON value");
            return v;
        } catch (StreamConstraintsException e) {
            String what = e.getOriginalMessage().contains("nesting depth") ? "nested deeper than " + MAX_DEPTH
                    : e.getOriginalMessage().lines().findFirst().orElse("too large");
            throw error(offset(e, text), what);
        } catch (JsonProcessingException e) {
            throw translate(e, text);
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
                    p.nextToken();
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
                    throw error((int) p.currentTokenLocation().getCharOffset(), "integer out of range: " + p.getText());
                }
                yield p.getLongValue();
            }
            case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> null;
            default -> throw error((int) p.currentTokenLocation().getCharOffset(), "unexpected " + p.currentToken());
        };
    }

    /** Jackson's error, reworded: what was expected where, at the offset Jackson names. */
    private static IllegalArgumentException translate(JsonProcessingException e, String text) {
        int at = offset(e, text);
        String m = e.getOriginalMessage();
        if (m.startsWith("Duplicate field")) {
            String key = m.substring(m.indexOf('\'') + 1, m.lastIndexOf('\''));
            return error(keyStart(text, at), "duplicate key " + quote(key));
        }
        if (m.contains("Leading zeroes")) return error(at, afterValue(e));
        if (e instanceof JsonEOFException) {
            if (m.contains("closing quote")) return error(at, "unterminated string");
            if (m.contains("close marker")) {
                char last = lastNonSpace(text, at);
                if (e.getProcessor() instanceof JsonParser p && p.getParsingContext().inObject()) {
                    return error(at, last == '{' || last == ',' ? "expected a string key" : afterValue(e));
                }
                return error(at, last == '[' || last == ',' ? "unexpected end" : afterValue(e));
            }
            if (m.contains("escape")) return error(at, "unterminated escape");
            if (m.contains("digit") || m.contains("number")) return error(at, "bad number");
            return error(at, "unexpected end");
        }
        if (m.startsWith("Unrecognized character escape")) {
            return error(at, "bad escape '\\" + (at < text.length() ? text.charAt(at) : '?') + "'");
        }
        if (m.contains("character escape sequence")) return error(at, "bad \\u escape");
        if (m.startsWith("Illegal unquoted character")) return error(at, "control character in string");
        if (m.contains("double-quote to start field name")) return error(at, "expected a string key");
        if (m.contains("a colon to separate")) return error(at, "expected ':'");
        if (m.contains("comma to separate Array")) return error(at, "expected ',' or ']'");
        if (m.contains("comma to separate Object")) return error(at, "expected ',' or '}'");
        if (m.contains("in numeric value") || m.contains("separating root-level values")) return error(at, "bad number");
        if (m.startsWith("Unrecognized token") || m.startsWith("Non-standard token")) {
            int start = m.indexOf('\'') + 1;
            return error(at, "unrecognized word '" + m.substring(start, m.indexOf('\'', start)) + "'");
        }
        if (m.startsWith("Unexpected character") && at < text.length()) {
            return error(at, "unexpected character " + describe(text.charAt(at)));
        }
        return error(at, m.lines().findFirst().orElse(m));
    }

    /** Where Jackson stopped; JSON from a String has a character offset. */
    private static int offset(JsonProcessingException e, String text) {
        long at = e.getLocation() == null ? -1 : e.getLocation().getCharOffset();
        return at < 0 ? text.length() : (int) Math.min(at, text.length());
    }

    /** What may follow a complete value where the parser stopped: in an array, an object, or nothing at the top. */
    private static String afterValue(JsonProcessingException e) {
        if (e.getProcessor() instanceof JsonParser p) {
            if (p.getParsingContext().inArray()) return "expected ',' or ']'";
            if (p.getParsingContext().inObject()) return "expected ',' or '}'";
        }
        return "unexpected text after the JSON value";
    }

    /** The opening quote of the key that ends just before {@code end} (Jackson reports a duplicate after it). */
    private static int keyStart(String text, int end) {
        int i = Math.min(end, text.length()) - 1;
        while (i > 0 && text.charAt(i) != '"') i--; // the closing quote
        for (i--; i >= 0; i--) {
            if (text.charAt(i) != '"') continue;
            int backslashes = 0;
            while (i - 1 - backslashes >= 0 && text.charAt(i - 1 - backslashes) == '\\') backslashes++;
            if (backslashes % 2 == 0) return i;
        }
        return end;
    }

    private static char lastNonSpace(String text, int before) {
        for (int i = Math.min(before, text.length()) - 1; i >= 0; i--) {
            if (!isSpace(text.charAt(i))) return text.charAt(i);
        }
        return '\0';
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }

    private static IllegalArgumentException error(int offset, String what) {
        return new IllegalArgumentException("invalid JSON at offset " + offset + ": " + what);
    }

    /** A character for an error message: invisible ones (a byte-order mark, controls) by their code point. */
    private static String describe(char c) {
        return c >= 0x20 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
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
