package dev.mnv3.serve.rest;

import com.fasterxml.jackson.core.io.NumberInput;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A flat JSON array of numbers read from its UTF-8 bytes straight into floats, each rounded as
 * {@link Float#parseFloat} rounds it: the bulk of a KServe JSON request, read without Jackson's
 * tokens or any object per number. Anything else (a nested array, a string, a number JSON does not
 * allow, one longer than Jackson's limit) ends the scan at once, and Jackson reads the array as
 * usual, reporting what is wrong.
 */
final class JsonNumbers {
    /** Jackson's default {@code maxNumberLength}: a longer number is left to Jackson, which refuses it. */
    private static final int MAX_NUMBER_LENGTH = 1000;
    private static final double[] POWERS = new double[23];
    private static final long TWO_53 = 1L << 53;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    static {
        POWERS[0] = 1;
        for (int i = 1; i < POWERS.length; i++) POWERS[i] = POWERS[i - 1] * 10; // exact up to 10^22
    }

    private final char[] scratch = new char[MAX_NUMBER_LENGTH];

    /** Where a finished scan stopped: the index of the array's closing ']'. */
    int end;

    /**
     * Reads the numbers of the array whose first byte after '[' is {@code b[from]} into {@code out},
     * stopping at the closing ']' ({@link #end}); false (and {@code out} as it was) when the array
     * is not a flat array of valid JSON numbers.
     */
    boolean scan(byte[] b, int from, int to, FloatSink out) {
        int mark = out.size();
        int i = skipSpace(b, from, to);
        if (i < to && b[i] == ']') {
            end = i;
            return true;
        }
        while (i < to) {
            i = number(b, i, to, out);
            if (i < 0) break;
            i = skipSpace(b, i, to);
            if (i >= to) break;
            if (b[i] == ']') {
                end = i;
                return true;
            }
            if (b[i] != ',') break;
            i = skipSpace(b, i + 1, to);
        }
        out.truncate(mark);
        return false;
    }

    private static int skipSpace(byte[] b, int i, int to) {
        while (i < to && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) i++;
        return i;
    }

    /**
     * One number, JSON's grammar ({@code -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?}),
     * added to {@code out}; returns the index after it, or -1 when there is none there.
     */
    private int number(byte[] b, int i, int to, FloatSink out) {
        int start = i;
        to = Math.min(to, i + MAX_NUMBER_LENGTH + 1); // a longer number is left to Jackson
        boolean negative = i < to && b[i] == '-';
        if (negative) i++;
        if (i >= to || b[i] < '0' || b[i] > '9') return -1;
        long mantissa = 0;
        int digits = 0, exponent = 0;
        boolean exact = true; // every significant digit is in the mantissa
        if (b[i] == '0') {
            i++;
            if (i < to && b[i] >= '0' && b[i] <= '9') return -1; // a leading zero
        } else {
            for (; i < to && b[i] >= '0' && b[i] <= '9'; i++) {
                if (digits < 18) {
                    mantissa = mantissa * 10 + (b[i] - '0');
                    digits++;
                } else {
                    exponent++;
                    exact &= b[i] == '0';
                }
            }
        }
        if (i < to && b[i] == '.') {
            i++;
            int first = i;
            // eight digits at a time while the mantissa has room for them (clients print 16-17)
            for (long chunk; digits <= 10 && i + 8 <= to && (chunk = eightDigits(b, i)) >= 0; i += 8) {
                mantissa = mantissa * 100_000_000 + chunk;
                exponent -= 8;
                digits = mantissa == 0 ? 0 : digits == 0 ? decimalDigits(chunk) : digits + 8;
            }
            for (; i < to && b[i] >= '0' && b[i] <= '9'; i++) {
                if (mantissa == 0 && b[i] == '0') {
                    exponent--; // leading zeros of a fraction
                } else if (digits < 18) {
                    mantissa = mantissa * 10 + (b[i] - '0');
                    digits++;
                    exponent--;
                } else {
                    exact &= b[i] == '0';
                }
            }
            if (i == first) return -1;
        }
        if (i < to && (b[i] == 'e' || b[i] == 'E')) {
            i++;
            boolean minus = i < to && b[i] == '-';
            if (i < to && (b[i] == '-' || b[i] == '+')) i++;
            int first = i, e = 0;
            for (; i < to && b[i] >= '0' && b[i] <= '9'; i++) if (e < 100_000) e = e * 10 + (b[i] - '0');
            if (i == first) return -1;
            exponent += minus ? -e : e;
        }
        if (i - start > MAX_NUMBER_LENGTH) return -1;
        float v = exact ? fast(mantissa, exponent) : Float.NaN;
        out.add(Float.isNaN(v) ? slow(b, start, i) : negative ? -v : v);
        return i;
    }

    /** The value of the eight ASCII digits at {@code b[i]}, or -1 when they are not all digits (SWAR: one long, three multiplies). */
    static long eightDigits(byte[] b, int i) {
        long v = (long) LONGS.get(b, i);
        // every byte 0x30..0x39: high nibble 3, and adding 6 does not carry out of the low nibble
        if ((v & 0xF0F0F0F0F0F0F0F0L) != 0x3030303030303030L || ((v + 0x0606060606060606L) & 0xF0F0F0F0F0F0F0F0L) != 0x3030303030303030L) {
            return -1;
        }
        v = (v & 0x0F0F0F0F0F0F0F0FL) * 2561 >>> 8; // pairs of digits, the first (lowest byte) the tens
        v = (v & 0x00FF00FF00FF00FFL) * 6553601 >>> 16;
        return (v & 0x0000FFFF0000FFFFL) * 42949672960001L >>> 32;
    }

    /** How many decimal digits {@code v} (0 < v < 10^8) has: comparisons, not divisions. */
    private static int decimalDigits(long v) {
        int n = 1;
        while (n < 8 && v >= POWERS[n]) n++;
        return n;
    }

    /**
     * {@code mantissa * 10^exponent} rounded to the nearest float, or NaN where this way cannot be
     * sure of it. A double quotient or product of exact operands is the correctly rounded double
     * (Clinger), and rounding that double to float is the correctly rounded float unless it lands
     * exactly on the midpoint between two floats. A mantissa over 2^53 is bracketed between two
     * 53-bit mantissas: when both ends round to one float, so does every value between them.
     */
    static float fast(long mantissa, int exponent) {
        if (mantissa == 0) return 0f;
        if (exponent < -22 || exponent > 22) return Float.NaN;
        if (mantissa <= TWO_53) return toFloat(scaled(mantissa, exponent));
        int drop = 64 - Long.numberOfLeadingZeros(mantissa) - 53;
        long low = mantissa >>> drop << drop;
        float a = toFloat(scaled(low, exponent)), b = toFloat(scaled(low + (1L << drop), exponent));
        return a == b ? a : Float.NaN;
    }

    private static double scaled(long mantissa, int exponent) {
        return exponent < 0 ? mantissa / POWERS[-exponent] : mantissa * POWERS[exponent];
    }

    /** The double rounded to float, or NaN when the double is a float midpoint or below the normal floats (rounding there is not settled). */
    private static float toFloat(double d) {
        if (d < Float.MIN_NORMAL) return Float.NaN;
        long discarded = Double.doubleToRawLongBits(d) & ((1L << 29) - 1);
        return discarded == 1L << 28 ? Float.NaN : (float) d;
    }

    /** The number by the general parser (FastDoubleParser, as Jackson uses it), from a reused buffer. */
    private float slow(byte[] b, int start, int end) {
        int n = end - start;
        for (int k = 0; k < n; k++) scratch[k] = (char) b[start + k];
        return NumberInput.parseFloat(scratch, 0, n, true);
    }

    /** Where the numbers go: a growable float array. */
    interface FloatSink {
        void add(float v);

        int size();

        void truncate(int size);
    }
}
