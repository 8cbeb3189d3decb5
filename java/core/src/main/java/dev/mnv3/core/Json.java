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
 * told from the grammar ({@link Expected}), not from Jackson's messages (which name its feature
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
            if (p.nextToken() == null) throw error(text.length(), "unexpected end");
            Object v = value(p);
            int end = (int) p.currentLocation().getCharOffset();
            while (end < text.length() && isSpace(text.charAt(end))) end++;
            if (end != text.length()) throw error(end, "unexpected text after the JSON value");
            return v;
        } catch (JsonProcessingException e) {
            long at = e.getLocation() == null ? -1 : e.getLocation().getCharOffset();
            throw Expected.at(text, at < 0 ? text.length() : (int) Math.min(at, text.length()), e instanceof StreamConstraintsException);
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
                    if (m.containsKey(key)) throw error(keyAt, "duplicate key " + quote(key));
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

    /**
     * What the grammar expects at an offset where Jackson stopped: the text before it is scanned
     * (strings, escapes, numbers, words and the containers open), and the state reached there and
     * the character found say what is wrong, in one phrase. The scan stops earlier at the first
     * character no JSON text can hold at its place, which Jackson sometimes reports one token late.
     */
    private static final class Expected {
        private enum State { VALUE, KEY, COLON, AFTER, STRING, ESCAPE, UNICODE, NUMBER, WORD }

        private final String text;
        private final StringBuilder open = new StringBuilder(); // the containers open: '[' or '{'
        private State state = State.VALUE;
        private boolean inKey, first; // a string being a key; a container just opened
        private int token, hexDigits; // where the number, word or string began; hex digits read of a \\u escape
        private int deepest, longestNumber, longestString; // for a parser limit: which one was passed

        private Expected(String text) {
            this.text = text;
        }

        static IllegalArgumentException at(String text, int at, boolean overLimit) {
            Expected x = new Expected(text);
            int i = 0;
            while (i < at && x.step(text.charAt(i), i)) i++;
            return error(i, x.problem(i, overLimit));
        }

        /** Reads the character at i; false when it cannot be there. */
        private boolean step(char c, int i) {
            switch (state) {
                case STRING -> {
                    if (c == '"') {
                        longestString = Math.max(longestString, i - token - 1);
                        state = inKey ? State.COLON : State.AFTER;
                    } else if (c == '\\') {
                        state = State.ESCAPE;
                    } else {
                        return c >= 0x20;
                    }
                }
                case ESCAPE -> {
                    if (c == 'u') {
                        state = State.UNICODE;
                        hexDigits = 0;
                    } else {
                        state = State.STRING;
                        return "\"\\/bfnrt".indexOf(c) >= 0;
                    }
                }
                case UNICODE -> {
                    if (Character.digit(c, 16) < 0) return false;
                    if (++hexDigits == 4) state = State.STRING;
                }
                case NUMBER -> {
                    if (!isNumberChar(c)) return endToken(i) && step(c, i);
                }
                case WORD -> {
                    if (!Character.isLetterOrDigit(c)) return endToken(i) && step(c, i);
                }
                default -> {
                    return isSpace(c) || structure(c, i);
                }
            }
            return true;
        }

        /** Outside strings, numbers and words. */
        private boolean structure(char c, int i) {
            boolean wasFirst = first;
            first = false;
            switch (state) {
                case KEY -> {
                    if (c == '}' && wasFirst) return close('{');
                    if (c != '"') return false;
                    inKey = true;
                    state = State.STRING;
                    token = i;
                }
                case COLON -> {
                    if (c != ':') return false;
                    state = State.VALUE;
                }
                case AFTER -> {
                    if (c == ',' && !open.isEmpty()) {
                        state = open.charAt(open.length() - 1) == '{' ? State.KEY : State.VALUE;
                    } else if (c == ']' || c == '}') {
                        return close(c == ']' ? '[' : '{');
                    } else {
                        return false;
                    }
                }
                default -> { // VALUE
                    if (c == ']' && wasFirst) return close('[');
                    if (c == '[' || c == '{') {
                        open.append(c);
                        deepest = Math.max(deepest, open.length());
                        state = c == '[' ? State.VALUE : State.KEY;
                        first = true;
                    } else if (c == '"') {
                        inKey = false;
                        state = State.STRING;
                        token = i;
                    } else if (c == '-' || c >= '0' && c <= '9') {
                        state = State.NUMBER;
                        token = i;
                    } else if (Character.isLetter(c)) {
                        state = State.WORD;
                        token = i;
                    } else {
                        return false;
                    }
                }
            }
            return true;
        }

        private boolean close(char opener) {
            if (open.isEmpty() || open.charAt(open.length() - 1) != opener) return false;
            open.setLength(open.length() - 1);
            state = State.AFTER;
            return true;
        }

        /** A number or word ends before i: it must be one JSON allows. */
        private boolean endToken(int i) {
            String t = text.substring(token, i);
            if (state == State.NUMBER) longestNumber = Math.max(longestNumber, t.length());
            boolean ok = state == State.NUMBER ? t.matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?")
                    : t.equals("true") || t.equals("false") || t.equals("null");
            if (ok) state = State.AFTER;
            return ok;
        }

        /** What is wrong at i, the scan having stopped there. */
        private String problem(int i, boolean overLimit) {
            boolean end = i >= text.length();
            char c = end ? 0 : text.charAt(i);
            if (overLimit) {
                // Jackson stops at or after the token over the limit: the longest one seen so far is it
                if (state == State.NUMBER) longestNumber = Math.max(longestNumber, i - token);
                if (state == State.STRING || state == State.ESCAPE || state == State.UNICODE) {
                    longestString = Math.max(longestString, i - token - 1);
                }
                if (deepest > MAX_DEPTH) return "nested deeper than " + MAX_DEPTH;
                if (longestNumber > LIMITS.getMaxNumberLength()) return "a number longer than " + LIMITS.getMaxNumberLength() + " characters";
                if (longestString > LIMITS.getMaxNameLength() && longestString <= LIMITS.getMaxStringLength()) {
                    return "a key longer than " + LIMITS.getMaxNameLength() + " characters";
                }
                return "a string longer than " + LIMITS.getMaxStringLength() + " characters";
            }
            return switch (state) {
                case STRING -> end ? "unterminated string" : "control character in string";
                case ESCAPE -> end ? "unterminated escape" : "bad escape '\\" + c + "'";
                case UNICODE -> end ? "unterminated escape" : "bad \\u escape";
                case NUMBER -> {
                    String t = text.substring(token, i);
                    // "01": the number 0, then something that cannot follow it
                    if ((t.equals("0") || t.equals("-0")) && Character.isDigit(c)) yield afterValue();
                    yield !end && isNumberChar(c) || !endToken(i) ? "bad number" : afterValue();
                }
                case WORD -> "unrecognized word '" + text.substring(token, wordEnd(i)) + "'";
                case KEY -> "expected a string key";
                case COLON -> "expected ':'";
                case AFTER -> afterValue();
                default -> { // VALUE
                    if (end) yield "unexpected end";
                    if (Character.isLetter(c)) {
                        token = i;
                        yield "unrecognized word '" + text.substring(i, wordEnd(i)) + "'";
                    }
                    yield "unexpected character " + describe(c);
                }
            };
        }

        private int wordEnd(int i) {
            while (i < text.length() && Character.isLetterOrDigit(text.charAt(i))) i++;
            return i;
        }

        /** What may follow a complete value: in an array, an object, or nothing at the top. */
        private String afterValue() {
            if (open.isEmpty()) return "unexpected text after the JSON value";
            return open.charAt(open.length() - 1) == '[' ? "expected ',' or ']'" : "expected ',' or '}'";
        }

        private static boolean isNumberChar(char c) {
            return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
        }
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
