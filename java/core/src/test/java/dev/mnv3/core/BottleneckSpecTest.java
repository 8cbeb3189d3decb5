package dev.mnv3.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BottleneckSpecTest {

    private static void assertRejected(String fragment, Runnable construct) {
        var e = assertThrows(IllegalArgumentException.class, construct::run);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    @Test
    void rejectsInvalidRowsNamingTheValue() {
        assertRejected("kernel must be odd, from 1 to 31, got 4", () -> new BottleneckSpec(4, 16, 16, false, Activation.RELU, 1));
        assertRejected("kernel must be odd, from 1 to 31, got -1", () -> new BottleneckSpec(-1, 16, 16, false, Activation.RELU, 1));
        assertRejected("got exp 0, out 16", () -> new BottleneckSpec(3, 0, 16, false, Activation.RELU, 1));
        assertRejected("got exp 16, out -8", () -> new BottleneckSpec(3, 16, -8, false, Activation.RELU, 1));
        assertRejected("stride must be 1 or 2, got 3", () -> new BottleneckSpec(3, 16, 16, false, Activation.RELU, 3));
        assertRejected("stride must be 1 or 2, got 0", () -> new BottleneckSpec(3, 16, 16, false, Activation.RELU, 0));
        assertRejected("dilation must be from 1 to 16, got 0", () -> new BottleneckSpec(3, 16, 16, false, Activation.RELU, 1, 0));
        assertRejected("activation is required", () -> new BottleneckSpec(3, 16, 16, false, null, 1));
    }

    @Test
    void dilationTurnsStrideTwoIntoOne() {
        BottleneckSpec s = new BottleneckSpec(5, 672, 160, true, Activation.HARDSWISH, 2);
        assertEquals(1, s.dilation());
        assertEquals(2, s.effectiveStride());
        assertEquals(1, s.withDilation(2).effectiveStride());
        assertEquals(2, s.withDilation(2).stride());
    }

    @Test
    void reducedHalvesOutAndOptionallyExp() {
        BottleneckSpec s = new BottleneckSpec(5, 960, 160, true, Activation.HARDSWISH, 1);
        assertEquals(new BottleneckSpec(5, 960, 80, true, Activation.HARDSWISH, 1), s.reduced(false));
        assertEquals(new BottleneckSpec(5, 480, 80, true, Activation.HARDSWISH, 1), s.reduced(true));
    }

    @Test
    void minimalKeepsChannelsStrideAndDilation() {
        BottleneckSpec s = new BottleneckSpec(5, 672, 160, true, Activation.HARDSWISH, 2, 2);
        assertEquals(new BottleneckSpec(3, 672, 160, false, Activation.RELU, 2, 2), s.minimal());
    }
}
