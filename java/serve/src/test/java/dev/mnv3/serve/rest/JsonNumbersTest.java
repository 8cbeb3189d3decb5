package dev.mnv3.serve.rest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * JSON numbers read from their bytes round exactly as {@link Float#parseFloat} rounds them, bit for
 * bit, over what clients print (Java's and Python's shortest forms, 17-digit doubles, exponents),
 * random decimals, and the hard cases: the exact midpoints between floats and values just beside
 * them, subnormals, and the edge of FP32's range. Anything JSON does not allow is left to Jackson.
 */
class JsonNumbersTest {
    private static final class Floats implements JsonNumbers.FloatSink {
        float[] a = new float[16];
        int n;

        @Override
        public void add(float v) {
            if (n == a.length) a = Arrays.copyOf(a, 2 * n);
            a[n++] = v;
        }

        @Override
        public int size() {
            return n;
        }

        @Override
        public void truncate(int size) {
            n = size;
        }
    }

    /** The numbers as one flat JSON array, checked against Float.parseFloat in bits. */
    private static void assertReadAsJava(List<String> numbers) {
        byte[] json = ("[" + String.join(", ", numbers) + "]").getBytes(StandardCharsets.US_ASCII);
        Floats out = new Floats();
        JsonNumbers reader = new JsonNumbers();
        assertTrue(reader.scan(json, 1, json.length, out), "not read: " + numbers.subList(0, Math.min(5, numbers.size())));
        assertEquals(json.length - 1, reader.end);
        assertEquals(numbers.size(), out.n);
        for (int i = 0; i < numbers.size(); i++) {
            float expected = Float.parseFloat(numbers.get(i));
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(out.a[i]),
                    numbers.get(i) + ": read " + out.a[i] + ", Java reads " + expected);
        }
    }

    @Test
    void whatClientsPrintReadsAsJavaReadsIt() {
        SplittableRandom rnd = new SplittableRandom(1);
        List<String> numbers = new ArrayList<>();
        for (int i = 0; i < 40_000; i++) {
            float f = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-12, 12)));
            numbers.add(switch (i % 4) {
                case 0 -> Float.toString(f); // Java, numpy's float32 repr: shortest for the float
                case 1 -> Double.toString(f); // Python's repr of a float32 widened to double: up to 17 digits
                case 2 -> Double.toString(rnd.nextGaussian()); // a double, rounded once more to float
                default -> String.format("%.9e", f).replace(",", "."); // an exponent form
            });
        }
        assertReadAsJava(numbers);
    }

    @Test
    void randomDecimalsAndTheEdgesOfTheRange() {
        SplittableRandom rnd = new SplittableRandom(2);
        List<String> numbers = new ArrayList<>(List.of("0", "-0", "-0.0", "0.000", "1", "-1", "1e39", "-1e39", "1e-46", "1.4e-45",
                "7.0e-46", "1.1754943e-38", "1.17549435e-38", "3.4028235e38", "3.4028236e38", "340282356779733661637539395458142568448",
                "340282356779733661637539395458142568447", "123456789012345678901234567890", "0.1", "0.2", "0.3",
                "9007199254740993", "9007199254740992.5", "1e22", "1e23", "1e-22", "1e-23", "4.9406564584124654e-324"));
        for (int i = 0; i < 30_000; i++) {
            StringBuilder s = new StringBuilder(rnd.nextBoolean() ? "-" : "");
            int digits = rnd.nextInt(1, 26);
            s.append(rnd.nextInt(1, 10));
            for (int d = 1; d < digits; d++) s.append(rnd.nextInt(10));
            if (rnd.nextBoolean() && digits > 1) s.insert(s.length() - rnd.nextInt(1, digits), '.');
            if (rnd.nextBoolean()) s.append(rnd.nextBoolean() ? 'e' : 'E').append(rnd.nextInt(-60, 40));
            numbers.add(s.toString());
        }
        assertReadAsJava(numbers);
    }

    /** Fractions read eight digits at a time: leading zeros and significant digits on either side of each chunk's edge. */
    @Test
    void fractionsAcrossEightDigitChunks() {
        SplittableRandom rnd = new SplittableRandom(4);
        List<String> numbers = new ArrayList<>(List.of("0.00000000", "0.000000001", "1.00000000", "0.12345678", "0.123456789",
                "12345678901.12345678", "0.0000000012345678901234567", "99999999.99999999", "-0.0000000000000000"));
        for (int i = 0; i < 20_000; i++) {
            StringBuilder s = new StringBuilder(rnd.nextBoolean() ? "-" : "").append(rnd.nextBoolean() ? "0" : String.valueOf(rnd.nextInt(1, 100_000)));
            s.append('.').append("0".repeat(rnd.nextInt(0, 20)));
            for (int d = rnd.nextInt(1, 22); d > 0; d--) s.append(rnd.nextInt(10));
            if (rnd.nextInt(4) == 0) s.append('e').append(rnd.nextInt(-30, 30));
            numbers.add(s.toString());
        }
        assertReadAsJava(numbers);
    }

    /** The midpoint between two floats (a tie, to even) and the decimals just below and above it: rounding decided at the last digit. */
    @Test
    void midpointsBetweenFloatsRoundAsJavaRoundsThem() {
        SplittableRandom rnd = new SplittableRandom(3);
        List<String> numbers = new ArrayList<>();
        BigDecimal tiny = new BigDecimal("1e-60");
        for (int i = 0; i < 8_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt(0x00800000, 0x7f000000));
            BigDecimal mid = new BigDecimal(f).add(new BigDecimal(Math.nextUp(f))).divide(BigDecimal.TWO);
            BigDecimal shortMid = mid.round(new java.math.MathContext(17)); // a 17-digit decimal near it
            numbers.addAll(List.of(mid.toString(), mid.subtract(tiny.multiply(mid)).toString(), mid.add(tiny.multiply(mid)).toString(),
                    shortMid.toString()));
        }
        assertReadAsJava(numbers);
    }

    @Test
    void whatJsonDoesNotAllowIsLeftToJackson() {
        for (String bad : List.of("01", "1.", ".5", "+1", "1e", "1e+", "-", "NaN", "Infinity", "1 2", "1,", "[1]", "\"1\"", "1x", "true",
                "1".repeat(1001))) {
            byte[] json = ("[" + bad + "]").getBytes(StandardCharsets.US_ASCII);
            Floats out = new Floats();
            out.add(42);
            assertFalse(new JsonNumbers().scan(json, 1, json.length, out), bad);
            assertEquals(1, out.n, bad + ": what it read before giving up is taken back");
        }
        byte[] empty = "[ ]".getBytes(StandardCharsets.US_ASCII);
        JsonNumbers reader = new JsonNumbers();
        assertTrue(reader.scan(empty, 1, empty.length, new Floats()));
        assertEquals(2, reader.end);
    }
}
