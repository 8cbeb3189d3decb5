package dev.mnv3.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ActivationTest {

    @ParameterizedTest(name = "{0}({1}) = {2}")
    @CsvSource({
            "RELU, -1.5, 0", "RELU, 0, 0", "RELU, 2.5, 2.5",
            "HARDSWISH, -4, 0", "HARDSWISH, -3, 0", "HARDSWISH, -1, -0.33333334", "HARDSWISH, 0, 0",
            "HARDSWISH, 1, 0.6666667", "HARDSWISH, 3, 3", "HARDSWISH, 5, 5",
            "HARDSIGMOID, -4, 0", "HARDSIGMOID, -3, 0", "HARDSIGMOID, 0, 0.5", "HARDSIGMOID, 1.5, 0.75",
            "HARDSIGMOID, 3, 1", "HARDSIGMOID, 10, 1",
            "IDENTITY, -7.25, -7.25"})
    void appliesTorchvisionFormulas(Activation a, float x, float expected) {
        assertEquals(expected, a.apply(x), 1e-7f);
    }

    @Test
    void hardswishIsXTimesHardsigmoid() {
        for (float x = -5f; x <= 5f; x += 0.125f) {
            assertEquals(x * Activation.HARDSIGMOID.apply(x), Activation.HARDSWISH.apply(x), 1e-6f, "x = " + x);
        }
    }

    @ParameterizedTest
    @CsvSource({"RE, RELU", "relu, RELU", " hs , HARDSWISH", "H-SWISH, HARDSWISH", "hswish, HARDSWISH",
            "HardSigmoid, HARDSIGMOID", "h-sigmoid, HARDSIGMOID", "none, IDENTITY", "linear, IDENTITY"})
    void parsesPaperAndEnumNames(String text, Activation expected) {
        assertEquals(expected, Activation.parse(text));
    }

    @Test
    void unknownNameListsTheAcceptedOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Activation.parse("gelu"));
        assertEquals("unknown activation 'gelu' (expected RE, HS, HARDSIGMOID or IDENTITY)", e.getMessage());
    }

    @Test
    void shortNamesParseBackExceptIdentity() {
        assertEquals(Activation.RELU, Activation.parse(Activation.RELU.shortName()));
        assertEquals(Activation.HARDSWISH, Activation.parse(Activation.HARDSWISH.shortName()));
        assertEquals("-", Activation.IDENTITY.shortName());
    }
}
