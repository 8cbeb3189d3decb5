package dev.mnv3.core.weights;

import dev.mnv3.core.tensor.DType;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.SafeTensorsWriter.Blob;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SafeTensorsRoundTripTest {

    @TempDir
    Path dir;

    private Path write(List<Blob> blobs, Map<String, String> metadata) throws IOException {
        Path p = dir.resolve("t.safetensors");
        SafeTensorsWriter.write(p, blobs, metadata);
        return p;
    }

    private static Tensor vector(float... v) {
        return new Tensor(new int[] {v.length}, v);
    }

    /** The raw 16-bit values stored for tensor {@code name}. */
    private static short[] rawShorts(Path file, String name) throws IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            SafeTensors.Entry e = st.entry(name);
            long base = 8 + RawSafeTensors.headerLength(file);
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            short[] out = new short[(int) e.numel()];
            for (int i = 0; i < out.length; i++) out[i] = b.getShort((int) (base + e.begin() + 2L * i));
            return out;
        }
    }

    private static float[] roundTrip(Path dir, DType dtype, float... values) throws IOException {
        Path p = dir.resolve(dtype + ".safetensors");
        SafeTensorsWriter.write(p, List.of(Blob.of("x", vector(values), dtype)), null);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(dtype, st.entry("x").dtype());
            return st.readFloats("x");
        }
    }

    // ---------------------------------------------------------------- dtypes

    @Test
    void f32IsBitExactIncludingSpecialValues() throws IOException {
        float[] v = {0f, -0f, 1f / 3, -2.5e-38f, Float.MIN_VALUE, Float.MAX_VALUE, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0x7fc01234)};
        float[] back = roundTrip(dir, DType.F32, v);
        for (int i = 0; i < v.length; i++) {
            assertEquals(Float.floatToRawIntBits(v[i]), Float.floatToRawIntBits(back[i]), "element " + i);
        }
    }

    @Test
    void f16RoundsToNearestEven() throws IOException {
        float tiny = Math.scalb(1f, -24); // smallest F16 subnormal
        float[] v = {1f / 3, 65504f, 65519f, 65520f, -2.5f, tiny, tiny / 2, tiny * 0.75f, tiny * 1.5f, 1e-8f,
                Math.scalb(1f, -14), 1 + Math.scalb(1f, -11), 1 + 3 * Math.scalb(1f, -11), 100000f};
        float[] expected = {0.333251953125f, 65504f, 65504f, Float.POSITIVE_INFINITY, -2.5f, tiny, 0f, tiny,
                2 * tiny, 0f, Math.scalb(1f, -14), 1f, 1 + Math.scalb(1f, -9), Float.POSITIVE_INFINITY};
        assertArrayEquals(expected, roundTrip(dir, DType.F16, v));
    }

    @Test
    void f16StoresTheIeeeBitPatterns() throws IOException {
        Path p = write(List.of(Blob.of("x", vector(1f / 3, 1f, -2f, 65504f, Math.scalb(1f, -24)), DType.F16)), null);
        assertArrayEquals(new short[] {0x3555, 0x3c00, (short) 0xc000, 0x7bff, 0x0001}, rawShorts(p, "x"));
    }

    @Test
    void f16KeepsNaN() throws IOException {
        assertTrue(Float.isNaN(roundTrip(dir, DType.F16, Float.NaN)[0]));
    }

    /**
     * Round to nearest, ties to even, computed in double from the two bfloat16 neighbours rather than by
     * bit tricks. The neighbour away from zero may be 2^128, which becomes infinity, as IEEE overflow does.
     */
    static float bf16Reference(float f) {
        if (Float.isNaN(f) || Float.isInfinite(f)) return f;
        int bits = Float.floatToRawIntBits(f);
        float towardZero = Float.intBitsToFloat(bits & 0xffff0000);
        double step = Math.ulp(towardZero) * 65536.0; // bfloat16 keeps 16 fewer mantissa bits than float
        double awayFromZero = towardZero + Math.copySign(step, f);
        double dDown = Math.abs(f - (double) towardZero), dUp = Math.abs(awayFromZero - f);
        boolean up = dUp < dDown || (dUp == dDown && ((bits >>> 16) & 1) == 1);
        return up ? (float) awayFromZero : towardZero;
    }

    @Test
    void bf16RoundsToNearestEvenOnCraftedBitPatterns() throws IOException {
        int[] in = {0x3f800000, 0x3f808000, 0x3f818000, 0x3f808001, 0x3f807fff, 0xbf818000, 0xbf808000,
                0x7f7fffff, 0x00000001, 0x00008000, 0x00018000, 0x7f800000};
        int[] out = {0x3f80, 0x3f80, 0x3f82, 0x3f81, 0x3f80, 0xbf82, 0xbf80,
                0x7f80, 0x0000, 0x0000, 0x0002, 0x7f80};
        float[] v = new float[in.length];
        for (int i = 0; i < in.length; i++) v[i] = Float.intBitsToFloat(in[i]);
        Path p = write(List.of(Blob.of("x", vector(v), DType.BF16)), null);
        short[] raw = rawShorts(p, "x");
        for (int i = 0; i < in.length; i++) {
            assertEquals(out[i], raw[i] & 0xffff, String.format("0x%08x", in[i]));
            assertEquals(Float.floatToRawIntBits(bf16Reference(v[i])), out[i] << 16, String.format("reference 0x%08x", in[i]));
        }
        try (SafeTensors st = SafeTensors.open(p)) {
            float[] back = st.readFloats("x");
            for (int i = 0; i < in.length; i++) assertEquals(Float.intBitsToFloat(out[i] << 16), back[i]);
        }
    }

    @Test
    void bf16MatchesTheReferenceRoundingOnRandomValues() throws IOException {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        float[] v = new float[4096];
        for (int i = 0; i < v.length; i++) v[i] = Float.intBitsToFloat(rnd.nextInt() & 0x7f7fffff | (rnd.nextBoolean() ? 0x80000000 : 0));
        float[] back = roundTrip(dir, DType.BF16, v);
        for (int i = 0; i < v.length; i++) assertEquals(bf16Reference(v[i]), back[i], "element " + i + " = " + v[i]);
    }

    @Test
    void bf16KeepsNaNEvenWhenOnlyLowMantissaBitsAreSet() throws IOException {
        float lowNaN = Float.intBitsToFloat(0x7f800001); // truncating to 16 bits would make this infinity
        float[] back = roundTrip(dir, DType.BF16, Float.NaN, lowNaN, Float.intBitsToFloat(0xff800001));
        for (float f : back) assertTrue(Float.isNaN(f), Float.toString(f));
    }

    @Test
    void i64IsExactAndTyped() throws IOException {
        long[] v = {0, 1, -1, 42, Long.MAX_VALUE, Long.MIN_VALUE};
        Path p = write(List.of(Blob.ofLongs("n", new long[] {2, 3}, v)), null);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(DType.I64, st.entry("n").dtype());
            assertArrayEquals(new long[] {2, 3}, st.entry("n").shape());
            assertArrayEquals(v, st.readLongs("n"));
            var e = assertThrows(IllegalArgumentException.class, () -> st.readFloats("n"));
            assertTrue(e.getMessage().contains("'n'") && e.getMessage().contains("is I64, not a floating-point tensor"), e.getMessage());
        }
    }

    @Test
    void readLongsRejectsFloatTensors() throws IOException {
        Path p = write(List.of(Blob.of("f", vector(1f), DType.F32)), null);
        try (SafeTensors st = SafeTensors.open(p)) {
            var e = assertThrows(IllegalArgumentException.class, () -> st.readLongs("f"));
            assertTrue(e.getMessage().contains("is F32, not I64"), e.getMessage());
        }
    }

    @Test
    void blobOfRefusesI64() {
        var e = assertThrows(IllegalArgumentException.class, () -> Blob.of("x", vector(1f), DType.I64));
        assertTrue(e.getMessage().contains("Blob.ofLongs"), e.getMessage());
    }

    @Test
    void mixedDtypesShapesAndValuesInOneFile() throws IOException {
        Tensor conv = new Tensor(new int[] {2, 1, 3, 3}, new float[18]);
        for (int i = 0; i < 18; i++) conv.data()[i] = i - 8.5f;
        Path p = write(List.of(Blob.of("conv", conv, DType.F32), Blob.of("half", conv, DType.F16),
                Blob.ofLongs("count", new long[] {}, new long[] {7}), Blob.of("brain", conv, DType.BF16)), null);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(List.of(DType.F32, DType.F16, DType.I64, DType.BF16),
                    st.entries().values().stream().map(SafeTensors.Entry::dtype).toList());
            for (String n : List.of("conv", "half", "brain")) {
                Tensor t = st.readTensor(n);
                assertArrayEquals(new int[] {2, 1, 3, 3}, t.shape(), n);
                assertArrayEquals(conv.data(), t.data(), n); // i - 8.5 is exact in all three
            }
            assertEquals("[]", st.entry("count").shapeString());
            assertArrayEquals(new long[] {7}, st.readLongs("count"));
        }
    }

    // ---------------------------------------------------------------- layout

    @Test
    void metadataRoundTripsInOrderWithSpecialCharacters() throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("quote\"and\\slash", "line\nbreak\ttab");
        meta.put("ünïcode", "✓ \uD83D\uDE00");
        meta.put("empty", "");
        Path p = write(List.of(Blob.of("x", vector(1f), DType.F32)), meta);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(List.copyOf(meta.entrySet()), List.copyOf(st.metadata().entrySet()));
            assertFalse(st.contains("__metadata__"), "metadata is not a tensor");
            assertEquals(List.of("x"), List.copyOf(st.entries().keySet()));
        }
    }

    @Test
    void entriesKeepTheOrderTheyWereWrittenIn() throws IOException {
        List<String> names = List.of("zeta", "alpha", "mid.weight", "b", "ünï");
        Path p = write(names.stream().map(n -> Blob.of(n, vector(n.length()), DType.F32)).toList(), Map.of("k", "v"));
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(names, List.copyOf(st.entries().keySet()));
            for (String n : names) assertArrayEquals(new float[] {n.length()}, st.readFloats(n), n);
        }
        String header = RawSafeTensors.headerText(p);
        assertTrue(header.startsWith("{\"__metadata__\":{\"k\":\"v\"},\"zeta\":"), header);
    }

    @Test
    void dataIsContiguousAndFollowsTheHeader() throws IOException {
        Path p = write(List.of(Blob.of("a", vector(1, 2, 3), DType.F32), Blob.of("b", vector(4), DType.F16),
                Blob.ofLongs("c", new long[] {2}, new long[] {5, 6})), null);
        try (SafeTensors st = SafeTensors.open(p)) {
            long end = 0;
            for (SafeTensors.Entry e : st.entries().values()) {
                assertEquals(end, e.begin(), e.name());
                end = e.end();
            }
            assertEquals(12 + 2 + 16, end);
            assertEquals(8 + RawSafeTensors.headerLength(p) + end, Files.size(p));
        }
    }

    /** Names of 1 to 9 characters move the header length through every remainder mod 8. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9})
    void dataSectionStartsEightByteAligned(int nameLength) throws IOException {
        Path p = write(List.of(Blob.of("n".repeat(nameLength), vector(1f, 2f), DType.F32),
                Blob.ofLongs("i", new long[] {1}, new long[] {-3})), null);
        long n = RawSafeTensors.headerLength(p);
        assertEquals(0, n % 8, "header length " + n);
        String header = RawSafeTensors.headerText(p);
        assertEquals(header.strip(), header.stripTrailing(), "padding is trailing");
        assertTrue(header.length() - header.stripTrailing().length() < 8, "at most 7 padding spaces");
        assertTrue(header.stripTrailing().endsWith("}"), header);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertArrayEquals(new long[] {-3}, st.readLongs("i"));
        }
    }

    @Test
    void emptyTensorsRoundTrip() throws IOException {
        Path p = write(List.of(Blob.of("none", Tensor.zeros(0), DType.F32), Blob.of("hollow", Tensor.zeros(3, 0, 2), DType.F16),
                Blob.of("after", vector(9f), DType.F32), Blob.ofLongs("nolong", new long[] {0}, new long[0])), null);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(0, st.entry("none").numel());
            assertEquals(st.entry("none").begin(), st.entry("none").end());
            assertEquals(0, st.readFloats("none").length);
            Tensor hollow = st.readTensor("hollow");
            assertArrayEquals(new int[] {3, 0, 2}, hollow.shape());
            assertEquals(0, hollow.size());
            assertArrayEquals(new float[] {9f}, st.readFloats("after"));
            assertEquals(0, st.readLongs("nolong").length);
        }
    }

    @Test
    void fileWithOnlyAnEmptyTensorAtTheEnd() throws IOException {
        Path p = write(List.of(Blob.of("e", Tensor.zeros(0, 4), DType.BF16)), null);
        assertEquals(8 + RawSafeTensors.headerLength(p), Files.size(p), "no data bytes at all");
        try (SafeTensors st = SafeTensors.open(p)) {
            assertArrayEquals(new long[] {0, 4}, st.entry("e").shape());
            assertEquals(0, st.readFloats("e").length);
        }
    }

    @Test
    void scalarTensorHasOneElement() throws IOException {
        Path p = write(List.of(Blob.of("s", new Tensor(new int[0], new float[] {2.5f}), DType.F32)), null);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(0, st.entry("s").shape().length);
            assertEquals(1, st.entry("s").numel());
            assertArrayEquals(new float[] {2.5f}, st.readFloats("s"));
        }
    }

    @Test
    void fileWithNoTensorsAndNoMetadata() throws IOException {
        Path p = write(List.of(), null);
        assertEquals("{}      ", RawSafeTensors.headerText(p));
        try (SafeTensors st = SafeTensors.open(p)) {
            assertTrue(st.entries().isEmpty());
            assertTrue(st.metadata().isEmpty());
        }
    }

    @Test
    void floatMapWriterStoresF32UnderTheMapKeys() throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("w", new Tensor(new int[] {2, 2}, new float[] {1, 2, 3, 4}));
        m.put("b", vector(-1f));
        Path p = dir.resolve("map.safetensors");
        SafeTensorsWriter.write(p, m, Map.of("source", "test"));
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(List.of("w", "b"), List.copyOf(st.entries().keySet()));
            assertEquals(DType.F32, st.entry("w").dtype());
            assertEquals("[2,2]", st.entry("w").shapeString());
            assertArrayEquals(new float[] {1, 2, 3, 4}, st.readFloats("w"));
            assertEquals("test", st.metadata().get("source"));
        }
    }

    @Test
    void rewritingReplacesTheFileAndLeavesNoTemporaryFiles() throws IOException {
        Path p = write(List.of(Blob.of("old", vector(1, 2, 3, 4, 5, 6, 7, 8), DType.F32)), null);
        write(List.of(Blob.of("new", vector(1f), DType.F32)), null);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(List.of("new"), List.copyOf(st.entries().keySet()));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(p), files.toList());
        }
    }

    @Test
    void unknownTensorNameIsAnErrorNamingFileAndTensor() throws IOException {
        Path p = write(List.of(Blob.of("x", vector(1f), DType.F32)), null);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertFalse(st.contains("y"));
            var e = assertThrows(IllegalArgumentException.class, () -> st.readFloats("y"));
            assertEquals(p + " has no tensor 'y'", e.getMessage());
            assertEquals(p, st.path());
        }
    }
}
