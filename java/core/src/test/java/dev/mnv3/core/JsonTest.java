package dev.mnv3.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class JsonTest {

    /** Parses {@code text}, expecting a failure whose message names {@code offset} and contains {@code what}. */
    private static IllegalArgumentException assertInvalid(String text, int offset, String what) {
        var e = assertThrows(IllegalArgumentException.class, () -> Json.parse(text), text);
        assertTrue(e.getMessage().startsWith("invalid JSON at offset " + offset + ":"), e.getMessage());
        assertTrue(e.getMessage().contains(what), e.getMessage());
        return e;
    }

    private static String nested(int depth) {
        return "[".repeat(depth) + "]".repeat(depth);
    }

    // ---------------------------------------------------------------- values

    @Test
    void objectKeepsKeyOrderAndValueTypes() {
        Object v = Json.parse("{\"z\": 1, \"a\": \"x\", \"m\": [true, false, null], \"o\": {}}");
        Map<String, Object> m = Json.object(v, "root");
        assertEquals(List.of("z", "a", "m", "o"), List.copyOf(m.keySet()));
        assertEquals(1L, m.get("z"));
        assertEquals("x", m.get("a"));
        assertEquals(Arrays.asList(true, false, null), m.get("m"));
        assertEquals(Map.of(), m.get("o"));
        assertInstanceOf(LinkedHashMap.class, m);
    }

    @Test
    void arraysNestAndMayBeEmpty() {
        assertEquals(List.of(), Json.parse("[]"));
        assertEquals(List.of(List.of(), List.of(1L, List.of(2L))), Json.parse("[[],[1,[2]]]"));
    }

    @Test
    void literals() {
        assertEquals(Boolean.TRUE, Json.parse("true"));
        assertEquals(Boolean.FALSE, Json.parse("false"));
        assertNull(Json.parse("null"));
    }

    @Test
    void whitespaceAroundAndBetweenTokensIsSkipped() {
        Object v = Json.parse(" \t\r\n{ \"a\" :\n[ 1 ,\t2 ] }\r\n ");
        assertEquals(Map.of("a", List.of(1L, 2L)), v);
    }

    @ParameterizedTest
    @CsvSource({"0, 0", "-0, 0", "7, 7", "-42, -42", "9223372036854775807, 9223372036854775807",
            "-9223372036854775808, -9223372036854775808"})
    void integersAreLongs(String text, long expected) {
        Object v = Json.parse(text);
        assertInstanceOf(Long.class, v);
        assertEquals(expected, v);
    }

    @ParameterizedTest
    @CsvSource({"0.5, 0.5", "-1.25, -1.25", "1e3, 1000", "1E-2, 0.01", "2.5e+2, 250", "0e0, 0", "-0.0, -0.0"})
    void fractionsAndExponentsAreDoubles(String text, double expected) {
        Object v = Json.parse(text);
        assertInstanceOf(Double.class, v);
        assertEquals(expected, (Double) v);
    }

    @Test
    void integerBeyondLongRangeIsAnError() {
        assertInvalid("[9223372036854775808]", 1, "integer out of range");
    }

    @Test
    void stringEscapes() {
        assertEquals("q\" b\\ s/ \b\f\n\r\t", Json.parse("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\""));
    }

    @Test
    void unicodeEscapesIncludingSurrogatePairs() {
        assertEquals("é", Json.parse("\"\\u00e9\""));
        assertEquals("é", Json.parse("\"\\u00E9\""));
        assertEquals("\u0000", Json.parse("\"\\u0000\""));
        assertEquals("\uD83D\uDE00", Json.parse("\"\\uD83D\\uDE00\""));
        assertEquals("héllo ✓", Json.parse("\"héllo ✓\""), "raw non-ASCII passes through");
    }

    // ---------------------------------------------------------------- errors

    @Test
    void trailingGarbageIsRejectedAtItsOffset() {
        assertInvalid("{} x", 3, "unexpected text after the JSON value");
        assertInvalid("[1] [2]", 4, "unexpected text after the JSON value");
    }

    @Test
    void emptyInputIsRejected() {
        assertInvalid("", 0, "unexpected end");
        assertInvalid("   ", 3, "unexpected end");
    }

    @Test
    void unterminatedStringIsRejected() {
        assertInvalid("\"abc", 4, "unterminated string");
        assertInvalid("{\"a\": \"b}", 9, "unterminated string");
    }

    @Test
    void unterminatedContainersAreRejected() {
        assertInvalid("[1, 2", 5, "expected ',' or ']'");
        assertInvalid("{\"a\": 1", 7, "expected ',' or '}'");
        assertInvalid("{", 1, "expected a string key");
    }

    @Test
    void badEscapeIsRejectedAtTheEscapeLetter() {
        assertInvalid("\"a\\x\"", 3, "bad escape '\\x'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"\\u12\"", "\"\\u12g4\"", "\"\\u+041\"", "\"\\u-041\"", "\"\\u 041\""})
    void malformedUnicodeEscapeIsRejected(String text) {
        var e = assertThrows(IllegalArgumentException.class, () -> Json.parse(text), text);
        assertTrue(e.getMessage().contains("\\u escape"), e.getMessage());
    }

    @Test
    void controlCharacterInStringIsRejected() {
        assertInvalid("\"a\nb\"", 2, "control character in string");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "01       | 1 | unexpected text after the JSON value",
            "[01]     | 2 | expected ',' or ']'",
            "-01      | 2 | unexpected text after the JSON value",
            "00       | 1 | unexpected text after the JSON value"})
    void leadingZerosAreRejected(String text, int offset, String what) {
        assertInvalid(text, offset, what);
    }

    @ParameterizedTest
    @ValueSource(strings = {"-", "1.", "1.e5", ".5", "1e", "1e+", "+1", "--1", "0x10", "NaN", "Infinity"})
    void malformedNumbersAreRejected(String text) {
        var e = assertThrows(IllegalArgumentException.class, () -> Json.parse(text), text);
        assertTrue(e.getMessage().startsWith("invalid JSON at offset "), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"tru", "nul", "fals", "True", "[truex]", "undefined"})
    void misspelledLiteralsAreRejected(String text) {
        assertThrows(IllegalArgumentException.class, () -> Json.parse(text), text);
    }

    @Test
    void trailingCommasAreRejected() {
        assertInvalid("[1,]", 3, "unexpected character ']'");
        assertInvalid("{\"a\":1,}", 7, "expected a string key");
    }

    @Test
    void missingColonIsRejected() {
        assertInvalid("{\"a\" 1}", 5, "expected ':'");
    }

    @Test
    void nonStringKeyIsRejected() {
        assertInvalid("{1: 2}", 1, "expected a string key");
    }

    @Test
    void duplicateKeysAreRejectedAtTheSecondKey() {
        assertInvalid("{\"a\": 1, \"b\": 2, \"a\": 3}", 17, "duplicate key \"a\"");
    }

    @Test
    void duplicateKeysInNestedObjectsAreRejected() {
        assertInvalid("{\"x\": {\"k\": [], \"k\": {}}}", 16, "duplicate key \"k\"");
    }

    @Test
    void sameKeyInDifferentObjectsIsFine() {
        assertEquals(List.of(Map.of("a", 1L), Map.of("a", 2L)), Json.parse("[{\"a\":1},{\"a\":2}]"));
    }

    @Test
    void nestingUpTo64LevelsIsAccepted() {
        Object v = Json.parse(nested(64));
        for (int i = 1; i < 64; i++) v = ((List<?>) v).getFirst();
        assertEquals(List.of(), v);
        assertEquals(1L, unwrap(Json.parse("[".repeat(64) + "1" + "]".repeat(64)), 64));
    }

    private static Object unwrap(Object v, int levels) {
        for (int i = 0; i < levels; i++) v = ((List<?>) v).getFirst();
        return v;
    }

    @Test
    void nestingDeeperThan64LevelsIsRejected() {
        var arrays = assertThrows(IllegalArgumentException.class, () -> Json.parse(nested(65)));
        assertTrue(arrays.getMessage().contains("nested deeper than 64"), arrays.getMessage());
        String objects = "{\"a\":".repeat(65) + "1" + "}".repeat(65);
        var e = assertThrows(IllegalArgumentException.class, () -> Json.parse(objects));
        assertTrue(e.getMessage().contains("nested deeper than 64"), e.getMessage());
    }

    @Test
    void deepNestingFailsCleanlyNotWithStackOverflow() {
        var e = assertThrows(IllegalArgumentException.class, () -> Json.parse(nested(100_000)));
        assertTrue(e.getMessage().contains("nested deeper than 64"), e.getMessage());
    }

    @Test
    void overLongNumbersAndKeysNameTheLimitTheyPassed() {
        var number = assertThrows(IllegalArgumentException.class, () -> Json.parse("[" + "1".repeat(1001) + "]"));
        assertTrue(number.getMessage().endsWith("a number longer than 1000 characters"), number.getMessage());
        var key = assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"" + "k".repeat(50_001) + "\": 1}"));
        assertTrue(key.getMessage().endsWith("a key longer than 50000 characters"), key.getMessage());
    }

    @Test
    void aControlCharacterBetweenTokensIsNamedWhereItIs() {
        assertInvalid("[\u0001]", 1, "unexpected character U+0001");
    }

    /** Jackson's own words (its feature flags, character codes, token lists) never reach the message. */
    @ParameterizedTest
    @ValueSource(strings = {"+1", "NaN", "[1,]", "{\"a\" 1}", "\"a\\x\"", "\"\\u12\"", "[1 2]", "{1: 2}", "01", "1.", "\"a\nb\"",
            "[\"a\"", "{\"a\"", "\"\\", "[1.5x]", "0x10"})
    void messagesAreOursNotJacksons(String text) {
        var e = assertThrows(IllegalArgumentException.class, () -> Json.parse(text), text);
        for (String jackson : new String[] {"Feature", "code ", "was expecting", "JSON String", "marker", "Source"}) {
            assertTrue(!e.getMessage().contains(jackson), e.getMessage());
        }
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    // ---------------------------------------------------------------- quote

    @ParameterizedTest
    @ValueSource(strings = {"", "plain", "q\"uote", "back\\slash", "new\nline", "cr\rtab\t", "\b\f\u0001\u001f",
            "slash/", "é ✓ \uD83D\uDE00", "{\"json\": [1]}"})
    void quoteRoundTrips(String s) {
        String q = Json.quote(s);
        assertTrue(q.startsWith("\"") && q.endsWith("\""), q);
        assertEquals(s, Json.parse(q));
    }

    @Test
    void quoteEscapesControlCharactersAsUnicode() {
        assertEquals("\"\\u0001\\u001f\"", Json.quote("\u0001\u001f"));
        assertEquals("\"a\\\"b\\\\c\\nd\"", Json.quote("a\"b\\c\nd"));
    }

    // ---------------------------------------------------------------- typed access

    @Test
    void typedAccessorsNameTheFieldAndWhatWasFound() {
        var e = assertThrows(IllegalArgumentException.class, () -> Json.intValue("3", "blocks[0].kernel"));
        assertEquals("blocks[0].kernel must be an integer, found a string", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Json.intValue(2.5, "stem"));
        assertEquals("stem must be an integer, found the number 2.5", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Json.intValue(1L << 40, "stem"));
        assertEquals("stem is out of range: " + (1L << 40), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Json.bool(null, "se"));
        assertEquals("se must be true or false, found null", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Json.object(List.of(), "root"));
        assertEquals("root must be a JSON object, found an array", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Json.array(Map.of(), "blocks"));
        assertEquals("blocks must be a JSON array, found an object", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Json.string(true, "name"));
        assertEquals("name must be a string, found a boolean", e.getMessage());
    }

    @Test
    void checkKeysNamesTheUnknownKeyAndTheAllowedOnes() {
        Map<String, Object> m = Json.object(Json.parse("{\"kernel\": 3, \"kernal\": 5}"), "x");
        var e = assertThrows(IllegalArgumentException.class, () -> Json.checkKeys(m, "blocks[2]", "kernel", "exp"));
        assertEquals("blocks[2]: unknown field \"kernal\" (allowed: kernel, exp)", e.getMessage());
        Json.checkKeys(m, "blocks[2]", "kernel", "kernal");
    }
}
