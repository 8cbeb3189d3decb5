package dev.mnv3.core;

import com.fasterxml.jackson.core.StreamReadConstraints;

/**
 * What the grammar expects at an offset where Jackson stopped ({@link Json}'s errors): the text
 * before it is scanned (strings, escapes, numbers, words and the containers open), and the state
 * reached there and the character found say what is wrong, in one phrase. The scan stops earlier
 * at the first character no JSON text can hold at its place, which Jackson sometimes reports one
 * token late. It runs only on the error path.
 */
final class JsonSyntax {
    private enum State { VALUE, KEY, COLON, AFTER, STRING, ESCAPE, UNICODE, NUMBER, WORD }

    private final String text;
    private final int maxDepth;
    private final StreamReadConstraints limits;
    private final StringBuilder open = new StringBuilder(); // the containers open: '[' or '{'
    private State state = State.VALUE;
    private boolean inKey, first; // a string being a key; a container just opened
    private int token, hexDigits; // where the number, word or string began; hex digits read of a \\u escape
    private int deepest, longestNumber, longestString; // for a parser limit: which one was passed

    private JsonSyntax(String text, int maxDepth, StreamReadConstraints limits) {
        this.text = text;
        this.maxDepth = maxDepth;
        this.limits = limits;
    }

    /** The error for {@code text} where Jackson stopped at {@code at}; {@code overLimit}: it stopped at one of {@code limits}. */
    static IllegalArgumentException explain(String text, int at, boolean overLimit, int maxDepth, StreamReadConstraints limits) {
        JsonSyntax x = new JsonSyntax(text, maxDepth, limits);
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
            if (deepest > maxDepth) return "nested deeper than " + maxDepth;
            if (longestNumber > limits.getMaxNumberLength()) return "a number longer than " + limits.getMaxNumberLength() + " characters";
            if (longestString > limits.getMaxNameLength() && longestString <= limits.getMaxStringLength()) {
                return "a key longer than " + limits.getMaxNameLength() + " characters";
            }
            return "a string longer than " + limits.getMaxStringLength() + " characters";
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

    static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }

    static IllegalArgumentException error(int offset, String what) {
        return new IllegalArgumentException("invalid JSON at offset " + offset + ": " + what);
    }

    /** A character for an error message: invisible ones (a byte-order mark, controls) by their code point. */
    private static String describe(char c) {
        return c >= 0x20 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
    }
}
