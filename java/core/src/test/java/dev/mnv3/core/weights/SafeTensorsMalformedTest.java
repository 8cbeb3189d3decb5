package dev.mnv3.core.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Every way a safetensors file can be broken must fail on open with a message naming the file and the problem. */
class SafeTensorsMalformedTest {

    @TempDir
    Path dir;

    /** A two-tensor F32 header over 16 bytes of data: the base the broken variants start from. */
    private static String header(String a, String b) {
        return "{\"a\":" + a + ",\"b\":" + b + "}";
    }

    private static String tensor(String dtype, String shape, String offsets) {
        return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    private static final String A = tensor("F32", "[2]", "[0,8]");
    private static final String B = tensor("F32", "[2]", "[8,16]");

    private Path file(String header, int dataBytes) throws IOException {
        return RawSafeTensors.write(dir.resolve("bad.safetensors"), header, new byte[dataBytes]);
    }

    private static SafeTensorsFormatException assertRejected(Path file, String... fragments) {
        var e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.open(file).close());
        String m = e.getMessage();
        assertTrue(m.startsWith(file + ": not a valid safetensors file: "), m);
        for (String f : fragments) assertTrue(m.contains(f), "expected '" + f + "' in: " + m);
        return e;
    }

    @Test
    void theHandWrittenBaseFileIsValid() throws IOException {
        Path p = RawSafeTensors.write(dir.resolve("ok.safetensors"), header(A, B), RawSafeTensors.f32(1, 2, 3, 4));
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(List.of("a", "b"), List.copyOf(st.entries().keySet()));
            assertArrayEquals(new float[] {3, 4}, st.readFloats("b"));
            assertEquals(Map.of(), st.metadata());
        }
    }

    // ---------------------------------------------------------------- truncation and the length prefix

    @Test
    void emptyFile() throws IOException {
        Path p = Files.write(dir.resolve("empty.safetensors"), new byte[0]);
        assertRejected(p, "truncated: 0 bytes", "the 8-byte header length");
    }

    @Test
    void fileShorterThanTheLengthPrefix() throws IOException {
        Path p = Files.write(dir.resolve("short.safetensors"), new byte[] {16, 0, 0, 0, 0});
        assertRejected(p, "truncated: 5 bytes");
    }

    @Test
    void fileCutInTheMiddleOfTheData() throws IOException {
        Path p = RawSafeTensors.write(dir.resolve("cut.safetensors"), header(A, B), RawSafeTensors.f32(1, 2, 3, 4));
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 6);
        }
        assertRejected(p, "tensor 'b' data_offsets [8,16] are out of range", "the data section has 10 bytes", "truncated?");
    }

    @Test
    void headerLengthLargerThanTheFile() throws IOException {
        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        Path p = RawSafeTensors.write(dir.resolve("long.safetensors"), 1000, h, new byte[18]);
        assertRejected(p, "header length 1000 is larger than the 20 bytes that follow it");
    }

    @Test
    void headerLengthWithTheTopBitSetIsReadAsUnsigned() throws IOException {
        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        Path p = RawSafeTensors.write(dir.resolve("neg.safetensors"), -1L, h, new byte[0]);
        assertRejected(p, "header length 18446744073709551615 is larger than the 2 bytes");
    }

    // ---------------------------------------------------------------- the header as text

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"[]|found an array", "\"x\"|found a string", "42|found", "null|found null",
            "true|found"})
    void headerThatIsNotAnObject(String header, String found) throws IOException {
        assertRejected(file(header, 0), "header JSON is not an object", found);
    }

    @Test
    void headerThatIsNotJson() throws IOException {
        assertRejected(file("{\"a\": }", 0), "header is not valid JSON", "offset 6");
    }

    @Test
    void headerThatIsNotUtf8() throws IOException {
        byte[] h = "{\"a?\":{}}".getBytes(StandardCharsets.US_ASCII);
        h[3] = (byte) 0xC3; // a lead byte followed by '"', not a continuation byte
        Path p = RawSafeTensors.write(dir.resolve("latin.safetensors"), h.length, h, new byte[0]);
        assertRejected(p, "header is not valid UTF-8");
    }

    @Test
    void duplicateTensorNames() throws IOException {
        String h = "{\"a\":" + A + ",\"a\":" + B + "}";
        assertRejected(file(h, 16), "duplicate key \"a\"");
    }

    @Test
    void metadataWithANonStringValue() throws IOException {
        assertRejected(file("{\"__metadata__\":{\"epoch\":1},\"a\":" + A + "}", 8),
                "__metadata__.epoch must be a string, found the number 1");
    }

    @Test
    void metadataThatIsNotAnObject() throws IOException {
        assertRejected(file("{\"__metadata__\":[\"x\"],\"a\":" + A + "}", 8), "__metadata__ must be a JSON object, found an array");
    }

    // ---------------------------------------------------------------- tensor entries

    @Test
    void tensorEntryThatIsNotAnObject() throws IOException {
        assertRejected(file(header(A, "3"), 16), "tensor 'b' must be a JSON object");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "dtype        | {\"shape\":[2],\"data_offsets\":[8,16]}",
            "shape        | {\"dtype\":\"F32\",\"data_offsets\":[8,16]}",
            "data_offsets | {\"dtype\":\"F32\",\"shape\":[2]}"})
    void tensorEntryWithAFieldMissing(String field, String entry) throws IOException {
        assertRejected(file(header(A, entry), 16), "tensor 'b' has no \"" + field + "\"");
    }

    @Test
    void tensorEntryWithAnUnknownField() throws IOException {
        String b = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16],\"offsets\":[8,16]}";
        assertRejected(file(header(A, b), 16), "tensor 'b': unknown field \"offsets\"", "allowed: dtype, shape, data_offsets");
    }

    @ParameterizedTest
    @ValueSource(strings = {"F64", "I32", "BOOL", "U8", "F8_E4M3"})
    void unsupportedDtype(String dtype) throws IOException {
        assertRejected(file(header(A, tensor(dtype, "[2]", "[8,16]")), 16),
                "tensor 'b' has unsupported dtype " + dtype, "(supported: F32, F16, BF16, I64)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"F33", "float32", ""})
    void unknownDtype(String dtype) throws IOException {
        assertRejected(file(header(A, tensor(dtype, "[2]", "[8,16]")), 16), "tensor 'b' has unknown dtype " + dtype);
    }

    @Test
    void dtypeThatIsNotAString() throws IOException {
        String b = "{\"dtype\":4,\"shape\":[2],\"data_offsets\":[8,16]}";
        assertRejected(file(header(A, b), 16), "tensor 'b' dtype must be a string");
    }

    @Test
    void negativeDimension() throws IOException {
        assertRejected(file(header(A, tensor("F32", "[-2]", "[8,16]")), 16), "tensor 'b' has a negative dimension -2");
    }

    @Test
    void nonIntegerDimension() throws IOException {
        assertRejected(file(header(A, tensor("F32", "[2.0]", "[8,16]")), 16), "tensor 'b' shape[0] must be an integer");
    }

    @Test
    void shapeWhoseElementCountOverflows() throws IOException {
        String huge = "[4294967296,4294967296,4294967296]";
        assertRejected(file(header(A, tensor("F32", huge, "[8,16]")), 16), "tensor 'b'", "too many elements");
    }

    @Test
    void dataOffsetsOutOfRange() throws IOException {
        assertRejected(file(header(A, tensor("F32", "[98]", "[8,400]")), 16),
                "tensor 'b' data_offsets [8,400] are out of range: the data section has 16 bytes");
    }

    @Test
    void dataOffsetsWithBeginAfterEnd() throws IOException {
        assertRejected(file(header(A, tensor("F32", "[2]", "[16,8]")), 16), "tensor 'b' has invalid data_offsets [16,8]");
    }

    @Test
    void dataOffsetsWithNegativeBegin() throws IOException {
        assertRejected(file(header(tensor("F32", "[2]", "[-8,0]"), B), 16), "tensor 'a' has invalid data_offsets [-8,0]");
    }

    @Test
    void dataOffsetsThatAreNotAPair() throws IOException {
        assertRejected(file(header(A, tensor("F32", "[2]", "[8]")), 16), "tensor 'b' data_offsets must be [begin, end], got 1 values");
    }

    @Test
    void overlappingTensors() throws IOException {
        assertRejected(file(header(A, tensor("F32", "[2]", "[4,12]")), 16), "tensors 'a' [0,8] and 'b' [4,12] overlap");
    }

    @Test
    void tensorInsideAnother() throws IOException {
        String whole = tensor("F32", "[4]", "[0,16]"), inner = tensor("F32", "[1]", "[4,8]");
        assertRejected(file(header(whole, inner), 16), "tensors 'a' [0,16] and 'b' [4,8] overlap");
    }

    @Test
    void emptyTensorInsideAnotherIsNoOverlap() throws IOException {
        Path p = file(header(A, tensor("F32", "[0]", "[4,4]")), 8);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(0, st.readFloats("b").length);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "F32|[3]|[8,16]|hold 8 bytes, but shape [3] of F32 needs 12",
            "F16|[2]|[8,16]|hold 8 bytes, but shape [2] of F16 needs 4",
            "I64|[2,1]|[8,16]|hold 8 bytes, but shape [2,1] of I64 needs 16"})
    void dataOffsetsWhoseSizeDoesNotMatchTheShape(String dtype, String shape, String offsets, String problem) throws IOException {
        assertRejected(file(header(A, tensor(dtype, shape, offsets)), 16), "tensor 'b' data_offsets " + offsets, problem);
    }

    @Test
    void holeInTheDataSection() throws IOException {
        assertRejected(file(header(A, tensor("F32", "[2]", "[12,20]")), 20),
                "bytes [8,12) of the data section belong to no tensor (a hole before 'b')");
    }

    @Test
    void holeBeforeTheFirstTensor() throws IOException {
        assertRejected(file("{\"a\":" + tensor("F32", "[2]", "[4,12]") + "}", 12), "bytes [0,4) of the data section belong to no tensor");
    }

    @Test
    void trailingBytesAfterTheLastTensor() throws IOException {
        assertRejected(file(header(A, B), 20), "4 trailing bytes after the last tensor: the data section has 20 bytes, "
                + "the tensors cover 16");
    }

    @Test
    void fileTruncatedByAnotherProgramWhileMapped() throws IOException {
        float[] big = new float[1 << 20]; // several pages, so that the cut leaves whole pages unbacked
        Path p = RawSafeTensors.write(dir.resolve("shrinking.safetensors"), "{\"a\":" + tensor("F32", "[" + big.length + "]",
                "[0," + 4 * big.length + "]") + "}", RawSafeTensors.f32(big));
        try (SafeTensors st = SafeTensors.open(p)) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                ch.truncate(64);
            }
            var e = assertThrows(java.io.UncheckedIOException.class, () -> st.readFloats("a"));
            assertEquals(p + " was truncated or changed by another program while mnv3 read it; read it again once nothing "
                    + "else writes it", e.getCause().getMessage());
        }
    }

    // ---------------------------------------------------------------- the path itself

    @Test
    void nonexistentPath() {
        Path p = dir.resolve("nope.safetensors");
        var e = assertThrows(NoSuchFileException.class, () -> SafeTensors.open(p));
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    }

    @Test
    void directoryInsteadOfAFile() {
        var e = assertThrows(IOException.class, () -> SafeTensors.open(dir));
        assertEquals(dir + ": is a directory, not a file", e.getMessage());
    }

    @Test
    void fifoIsRefusedBeforeOpeningIt() throws Exception {
        Path fifo = dir.resolve("pipe.safetensors");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        // opening a FIFO for reading would block until a writer comes: the check must come first
        var e = assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> assertThrows(IOException.class,
                () -> SafeTensors.open(fifo)));
        assertEquals(fifo + ": is not a regular file (a FIFO, socket or device)", e.getMessage());
    }
}
