package dev.mnv3.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.bench.Throughput;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.MemoryLimitException;
import dev.mnv3.core.weights.RandomWeights;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Sizes that would overflow an int or a long, or exhaust the heap, are refused at the boundary
 * with a message that names the value: never a NegativeArraySizeException, a wrapped count or an
 * OutOfMemoryError.
 */
class SizeLimitsTest {
    @TempDir
    Path dir;

    private MobileNetV3Config table(String row) throws IOException {
        return MobileNetV3Config.fromJson(Files.writeString(dir.resolve("t.json"), "{\"blocks\": [" + row + "]}"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"kernel\": 3, \"exp\": 16, \"out\": 16, \"dilation\": 1000000}|dilation must be from 1 to 16, got 1000000",
            "{\"kernel\": 3, \"exp\": 1048576, \"out\": 16}|exp size and out channels must be from 1 to 65536, got exp 1048576",
            "{\"kernel\": 3, \"exp\": 16, \"out\": 2147483647}|must be from 1 to 65536, got exp 16, out 2147483647",
            "{\"kernel\": 1000001, \"exp\": 16, \"out\": 16}|kernel must be odd, from 1 to 31, got 1000001",
            "{\"kernel\": 3, \"exp\": 16, \"out\": 16, \"stride\": 4294967297}|blocks[0].stride is out of range: 4294967297"})
    void hugeTableValuesAreRefusedNamingTheValue(String row, String message) {
        var e = assertThrows(IllegalArgumentException.class, () -> table(row));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void hugeClassCountsAndStemWidthsAreRefused() {
        var classes = assertThrows(IllegalArgumentException.class, () -> MobileNetV3Config.large().withClasses(Integer.MAX_VALUE));
        assertEquals("number of classes must be from 1 to 1048576, got 2147483647", classes.getMessage());
        var stem = assertThrows(IllegalArgumentException.class, () -> MobileNetV3Config.custom("x", 1 << 20, 1280,
                MobileNetV3Config.small().table()));
        assertTrue(stem.getMessage().contains("got stem 1048576"), stem.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"2000000000, 2000000000", "65537, 224", "224, 100000"})
    void inputSizesBeyondTheLimitAreRefused(int h, int w) {
        Graph g = Graph.of(MobileNetV3Config.large());
        var e = assertThrows(IllegalArgumentException.class, () -> g.checkInput(new int[] {1, 3, h, w}));
        assertEquals("input " + h + "x" + w + " is too large: H and W must be at most 65536", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> g.macs(h, w));
    }

    /** The largest table the limits allow: counts are exact (checked against BigInteger sums), never wrapped. */
    @Test
    void countsAtTheLimitsAreExactOrRefused() {
        BottleneckSpec widest = new BottleneckSpec(31, 65536, 65536, true, Activation.HARDSWISH, 1, 16);
        Graph g = Graph.of(MobileNetV3Config.custom("widest", 65536, 65536, List.of(widest)).withWidth(8)
                .withClasses(MobileNetV3Config.MAX_CLASSES));
        java.math.BigInteger params = java.math.BigInteger.ZERO;
        for (var p : g.parameters()) {
            if (!p.trainable()) continue;
            java.math.BigInteger n = java.math.BigInteger.ONE;
            for (int d : p.shape()) n = n.multiply(java.math.BigInteger.valueOf(d));
            params = params.add(n);
        }
        assertEquals(params.longValueExact(), g.params());
        assertTrue(g.macs(64, 64) > 0);
        var e = assertThrows(IllegalArgumentException.class, () -> g.macs(65536, 65536));
        assertTrue(e.getMessage().contains("more than 2^63 multiply-adds per image"), e.getMessage());
    }

    @Test
    void weightsTooLargeForAnArrayAreRefusedBeforeAllocating() {
        Graph g = Graph.of(MobileNetV3Config.large().withWidth(8).withClasses(MobileNetV3Config.MAX_CLASSES));
        var e = assertThrows(MemoryLimitException.class, () -> RandomWeights.generate(g, 1));
        assertEquals("classifier.3.weight [1048576,10240] holds 10,737,418,240 values, more than one Java array can hold "
                + "(2,147,483,639)", e.getMessage());
    }

    @Test
    void weightsTooLargeForTheHeapAreRefusedNamingBothSizes() {
        // 20 of Large's classifier rows at width 8 would fit one array each, but not the test JVM's heap
        Graph g = Graph.of(MobileNetV3Config.large().withWidth(8).withClasses(200_000));
        var e = assertThrows(MemoryLimitException.class, () -> RandomWeights.generate(g, 1));
        assertTrue(e.getMessage().startsWith("random weights for large(width 8.0, 200000 classes) needs "), e.getMessage());
        assertTrue(e.getMessage().contains("this JVM can still allocate (its maximum heap is"), e.getMessage());
        assertTrue(e.getMessage().contains("raise it with -Xmx"), e.getMessage());
    }

    @Test
    void memoryBudgetFormatsSizes() {
        assertEquals("512 bytes", MemoryBudget.format(512));
        assertEquals("1.5 KiB", MemoryBudget.format(1536));
        assertEquals("8.0 EiB", MemoryBudget.format(Long.MAX_VALUE));
        var e = assertThrows(MemoryLimitException.class, () -> MemoryBudget.reserve(Long.MAX_VALUE, "everything"));
        assertTrue(e.getMessage().startsWith("everything needs 8.0 EiB, more than the "), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(doubles = {Double.POSITIVE_INFINITY, Double.NaN, 0, -5, 86_401})
    void throughputRefusesDurationsThatAreNotAFiniteSpan(double seconds) {
        var timed = assertThrows(IllegalArgumentException.class, () -> Throughput.checkDurations(0, seconds));
        assertTrue(timed.getMessage().startsWith("the timed duration must be more than 0 and at most 86400 seconds"), timed.getMessage());
        if (seconds != 0) assertThrows(IllegalArgumentException.class, () -> Throughput.checkDurations(seconds, 1));
    }

    // ---------------------------------------------------------------- table files as text

    @Test
    void aTableThatIsNotUtf8NamesTheFile() throws IOException {
        Path latin1 = Files.write(dir.resolve("latin1.json"), "{\"name\": \"caf\u00e9\", \"blocks\": []}".getBytes(
                java.nio.charset.StandardCharsets.ISO_8859_1));
        var e = assertThrows(FileSystemException.class, () -> MobileNetV3Config.fromJson(latin1));
        assertEquals(latin1 + ": is not UTF-8 text (save it as UTF-8)", e.getMessage());
    }

    @Test
    void aByteOrderMarkIsSkippedAndOtherInvisibleCharactersAreNamed() throws IOException {
        Path bom = Files.writeString(dir.resolve("bom.json"), "\uFEFF{\"blocks\": [{\"kernel\": 3, \"exp\": 16, \"out\": 16}]}");
        assertEquals(1, MobileNetV3Config.fromJson(bom).table().size());
        Path nbsp = Files.writeString(dir.resolve("nbsp.json"), "{\"blocks\":\u00a0[]}");
        var e = assertThrows(IllegalArgumentException.class, () -> MobileNetV3Config.fromJson(nbsp));
        assertTrue(e.getMessage().endsWith("invalid JSON at offset 10: unexpected character U+00A0"), e.getMessage());
    }

    @Test
    void aDirectoryOrFifoAsTableIsNamedAsSuch() throws Exception {
        var e = assertThrows(FileSystemException.class, () -> MobileNetV3Config.fromJson(dir));
        assertEquals(dir + ": is a directory, not a file", e.getMessage());
        Path fifo = dir.resolve("table.json");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        var f = assertThrows(FileSystemException.class, () -> MobileNetV3Config.fromJson(fifo));
        assertEquals(fifo + ": is not a regular file (a FIFO, socket or device)", f.getMessage());
    }
}
