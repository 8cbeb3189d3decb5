package dev.mnv3.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.testing.ZeroPngs;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.SafeTensors;
import dev.mnv3.core.weights.SafeTensorsWriter;
import dev.mnv3.core.weights.Weights;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The hostile and careless inputs, one by one: each gets one clear line, nothing is clobbered, nothing hangs. */
class BadInputTest {
    @TempDir
    static Path dir;
    static Path weights;
    static Path input;
    static Path photo;

    @BeforeAll
    static void files() throws Exception {
        Graph small = Graph.of(MobileNetV3Config.small());
        weights = dir.resolve("small.safetensors");
        RandomWeights.generate(small, 3).save(weights, Map.of());
        input = dir.resolve("input.safetensors");
        SafeTensorsWriter.write(input, Map.of("input", RandomWeights.input(1, 64, 64, 4)), Map.of());
        photo = dir.resolve("photo.jpg");
        BufferedImage img = new BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 240; y++) for (int x = 0; x < 320; x++) img.setRGB(x, y, (x << 16) | (y << 8) | ((x * y) & 0xff));
        ImageIO.write(img, "jpg", photo.toFile());
    }

    static void assertOneLineError(Cli r, String expected) {
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().startsWith("mnv3: "), r.toString());
        assertTrue(r.err().contains(expected), "expected '" + expected + "' in " + r);
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertFalse(r.err().contains("internal error") || r.err().contains("Exception"), r.toString());
    }

    private static Cli run(Path in, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("run", "--model", "small", "--backend", "cpu", "--threads", "1",
                "--weights", weights.toString(), "--input", in.toString(), "--output", out.toString()));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    private static Path table(String name, String blocks) throws IOException {
        return Files.writeString(dir.resolve(name), "{\"blocks\": [" + blocks + "]}");
    }

    // ------------------------------------------------------------ 1. no raw Error traces

    @Test
    void benchWithAHugeBatchNamesTheMemoryItNeeds() {
        Cli r = Cli.run("bench", "--model", "small", "--size", "64x64", "--batch", "100000", "--backend", "cpu",
                "--seconds", "0.01", "--warmup", "0");
        assertOneLineError(r, "a tensor [100000,3,64,64] needs 4.6 GiB, more than the ");
    }

    /**
     * Twelve 12-megapixel JPEGs in one classify, in a JVM of 200 MB: each decoded image alone is
     * 48 MB as RGB ints, so holding them all (as classify did) runs out of memory. Now one
     * image's crop region is decoded at a time.
     */
    @Test
    void manyLargeJpegsAreClassifiedInBoundedMemory() throws Exception {
        BufferedImage big = new BufferedImage(4000, 3000, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 3000; y++) for (int x = 0; x < 4000; x++) big.setRGB(x, y, (x & 0xff) << 16 | (y & 0xff) << 8 | 0x40);
        Path first = dir.resolve("big-0.jpg");
        ImageIO.write(big, "jpg", first.toFile());
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx200m",
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "classify", "--model", "small", "--backend", "cpu", "--threads", "1", "--top", "1", "--weights", weights.toString(),
                first.toString()));
        for (int i = 1; i < 12; i++) cmd.add(Files.createLink(dir.resolve("big-" + i + ".jpg"), first).toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertEquals(12, out.lines().filter(l -> l.endsWith(".jpg:")).count(), out);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"kernel\": 3, \"exp\": 16, \"out\": 16, \"dilation\": 1000000}|dilation must be from 1 to 16, got 1000000",
            "{\"kernel\": 3, \"exp\": 1048576, \"out\": 16}|exp size and out channels must be from 1 to 65536, got exp 1048576",
            "{\"kernel\": 99999, \"exp\": 16, \"out\": 16}|kernel must be odd, from 1 to 31, got 99999"})
    void tablesWithHugeValuesAreOneLine(String row, String expected) throws IOException {
        assertOneLineError(Cli.run("info", "--model", table("huge.json", row).toString()), expected);
    }

    @Test
    void errorsThatEscapeTheCommandsAreStillOneLine() {
        assertTrue(Main.describe(new OutOfMemoryError("Java heap space")).startsWith(
                "out of memory (Java heap space): the JVM may use at most "), "OOM");
        assertEquals("a file mnv3 had mapped changed or shrank while it was read (another program writing it?)",
                Main.describe(new InternalError("a fault occurred in an unsafe memory access operation")));
        assertEquals("I/O error: w.safetensors was truncated", Main.describe(new UncheckedIOException(
                new IOException("w.safetensors was truncated"))));
        assertFalse(Main.describe(new StackOverflowError()).contains("\n"));
    }

    // ------------------------------------------------------------ 2. hang and idle CPU

    @Test
    void tooManyThreadsAreRefusedAtOnce() {
        assertOneLineError(Cli.run("run", "--model", "small", "--threads", "1000", "--weights", weights.toString(), "--input",
                        input.toString(), "--output", dir.resolve("t.safetensors").toString()),
                "--threads must be from 0 (all available processors) to 256, got 1000");
    }

    // ------------------------------------------------------------ 3. clobbered files

    @Test
    void outputEqualToAnInputIsRefusedAndTheInputSurvives() throws IOException {
        byte[] before = Files.readAllBytes(weights);
        assertOneLineError(run(input, weights), "refusing to overwrite an input of this command (" + weights + ")");
        assertOneLineError(run(input, input), "refusing to overwrite an input of this command (" + input + ")");
        Path alias = Files.createSymbolicLink(dir.resolve("alias.safetensors"), weights);
        assertOneLineError(run(input, alias), "refusing to overwrite an input");
        assertEquals(ByteBuffer.wrap(before), ByteBuffer.wrap(Files.readAllBytes(weights)));
    }

    @Test
    void aFifoOrDirectoryIsNeverReplaced() throws Exception {
        Path fifo = dir.resolve("out.fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        assertOneLineError(run(input, fifo), fifo + ": cannot write: it is not a regular file");
        assertOneLineError(run(input, dir), dir + ": cannot write: it is a directory");
        assertFalse(Files.isRegularFile(fifo));
    }

    @Test
    void aSymbolicLinkIsWrittenThrough() throws IOException {
        Path target = dir.resolve("results.safetensors");
        Path link = Files.createSymbolicLink(dir.resolve("latest.safetensors"), target.getFileName());
        Cli r = run(input, link);
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(Files.isSymbolicLink(link));
        try (SafeTensors st = SafeTensors.open(target)) {
            assertEquals(1000, st.readFloats("logits").length);
        }
    }

    // ------------------------------------------------------------ 5. silent wrong results

    @Test
    void benchAndDemoRefuseDurationsThatAreNotAFiniteSpan() {
        String[] bench = {"bench", "--model", "small", "--size", "64", "--backend", "cpu"};
        assertOneLineError(Cli.run(concat(bench, "--seconds", "Infinity")),
                "--seconds must be more than 0 and at most 86400 seconds, got Infinity");
        assertOneLineError(Cli.run(concat(bench, "--warmup", "NaN")), "--warmup must be from 0 and at most 86400 seconds, got NaN");
        for (String s : new String[] {"0", "-5", "NaN"}) {
            assertOneLineError(Cli.run("demo", "--model", "small", "--seconds", s), "--seconds must be more than 0");
        }
    }

    private static String[] concat(String[] a, String... b) {
        List<String> all = new ArrayList<>(List.of(a));
        all.addAll(List.of(b));
        return all.toArray(String[]::new);
    }

    @Test
    void nanWeightsOrInputsAreSaidOnce() throws IOException {
        Graph g = Graph.of(MobileNetV3Config.small());
        Weights w = RandomWeights.generate(g, 3);
        w.get("features.0.0.weight").data()[5] = Float.NaN;
        w.get("classifier.3.bias").data()[0] = Float.POSITIVE_INFINITY;
        Path bad = dir.resolve("nan.safetensors");
        w.save(bad, Map.of());
        Cli r = Cli.run("run", "--model", "small", "--backend", "cpu", "--weights", bad.toString(), "--input", input.toString(),
                "--output", dir.resolve("nan-out.safetensors").toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals("mnv3: warning: " + bad + " holds 2 NaN or infinite values (the first in 'features.0.0.weight'): the results "
                + "are not numbers", r.err().strip());
        Tensor x = RandomWeights.input(1, 64, 64, 4);
        x.data()[0] = Float.NaN;
        Path nanInput = dir.resolve("nan-input.safetensors");
        SafeTensorsWriter.write(nanInput, Map.of("input", x), Map.of());
        Cli in = run(nanInput, dir.resolve("nan-out2.safetensors"));
        assertEquals(1, in.err().strip().lines().count(), in.toString());
        assertTrue(in.err().startsWith("mnv3: warning: " + nanInput + " holds 1 NaN or infinite value"), in.toString());
    }

    @Test
    void infoNeverPrintsANegativeOrWrappedCount() throws IOException {
        Path widest = table("widest.json", "{\"kernel\": 31, \"exp\": 65536, \"out\": 65536, \"se\": true}");
        Cli r = Cli.run("info", "--model", widest.toString(), "--width", "8", "--size", "64");
        assertEquals(0, r.exitCode(), r.toString());
        assertFalse(java.util.regex.Pattern.compile("(?<![\\w-])-\\d").matcher(r.out()).find(), "no negative count: " + r.out());
        assertTrue(r.out().contains("total parameters: 2,094,387,853,928"), r.out());
        assertOneLineError(Cli.run("info", "--model", widest.toString(), "--width", "8", "--size", "65536"),
                "more than 2^63 multiply-adds per image");
    }

    // ------------------------------------------------------------ 5. damaged images

    private static Path png(String name, int w, int h) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, ((x * 5) & 0xff) << 16 | ((y * 3) & 0xff) << 8);
        Path p = dir.resolve(name);
        ImageIO.write(img, "png", p.toFile());
        return p;
    }

    private static Cli classify(String... extra) {
        List<String> args = new ArrayList<>(List.of("classify", "--model", "small", "--backend", "cpu", "--threads", "1",
                "--weights", weights.toString(), "--top", "1"));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    @Test
    void aTruncatedJpegIsNamedAndFailsUnlessLenient() throws IOException {
        byte[] whole = Files.readAllBytes(photo);
        Path cut = Files.write(dir.resolve("cut.jpg"), java.util.Arrays.copyOf(whole, whole.length / 2));
        assertOneLineError(classify(photo.toString(), cut.toString()), cut + " is damaged: ");
        Cli lenient = classify("--lenient", photo.toString(), cut.toString());
        assertEquals(0, lenient.exitCode(), lenient.toString());
        assertTrue(lenient.out().contains(cut + ":"), lenient.toString());
        assertTrue(lenient.err().startsWith("mnv3: warning: " + cut + " is damaged: "), lenient.toString());
    }

    @Test
    void aPngWithABadCrcOrCutShortIsNamed() throws IOException {
        Path ok = png("ok.png", 80, 60);
        byte[] b = Files.readAllBytes(ok);
        int idat = indexOf(b, "IDAT".getBytes()), length = ByteBuffer.wrap(b, idat - 4, 4).getInt();
        b[idat + 4 + length] ^= 0x55; // the CRC of an intact IDAT: the pixels decode, the file is still damaged
        Path badCrc = Files.write(dir.resolve("bad-crc.png"), b);
        assertOneLineError(classify(badCrc.toString()), badCrc + " is damaged: chunk IDAT fails its CRC check");
        Path cut = Files.write(dir.resolve("cut.png"), java.util.Arrays.copyOf(b, idat + 20));
        assertOneLineError(classify(cut.toString()), "cannot decode image " + cut + ": damaged or unsupported");
        Cli lenient = classify("--lenient", badCrc.toString(), cut.toString(), ok.toString());
        assertEquals(0, lenient.exitCode(), lenient.toString());
        assertTrue(lenient.out().contains(badCrc + ":") && lenient.out().contains(ok + ":"), lenient.toString());
        assertFalse(lenient.out().contains(cut + ":"), "undecodable files are skipped");
        // a warning per damaged file, then the summary
        assertEquals(3, lenient.err().strip().lines().count(), lenient.toString());
        assertTrue(lenient.err().strip().lines().toList().get(2).startsWith("classify: 2 images classified, 1 skipped (--lenient)"),
                lenient.toString());
    }

    private static int indexOf(byte[] data, byte[] what) {
        outer:
        for (int i = 0; i + what.length <= data.length; i++) {
            for (int j = 0; j < what.length; j++) if (data[i + j] != what[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }

    @ParameterizedTest
    @CsvSource({"20000, 1", "100000, 1", "1, 20000"})
    void extremeStripsClassifyQuickly(int w, int h) throws IOException {
        Path strip = png("strip-" + w + "x" + h + ".png", w, h);
        long start = System.nanoTime();
        Cli r = classify(strip.toString());
        assertEquals(0, r.exitCode(), r.toString());
        // it was 53 s and 5.9 GB: only the crop is computed now (a bound far above the ~1 s this takes, against hangs)
        assertTrue(System.nanoTime() - start < 60e9, "took " + (System.nanoTime() - start) / 1e9 + " s");
    }

    /**
     * 140 KB of PNG that decodes to 12000x12000 grey (under PIL's 179 million pixel limit): decoded
     * within the budget, subsampled if need be, never all at once. Over the limit it is refused.
     */
    @Test
    void aTinyPngOfAHugeGreyImageClassifies() throws IOException {
        Path bomb = greyPng(dir.resolve("bomb.png"), 12000, 12000, 12000);
        assertTrue(Files.size(bomb) < 1_000_000, Files.size(bomb) + " bytes");
        Cli r = classify(bomb.toString());
        assertEquals(0, r.exitCode(), r.toString());
        Path beyond = greyPng(dir.resolve("beyond.png"), 20000, 20000, 1); // refused on its header alone
        assertOneLineError(classify(beyond.toString()),
                "image " + beyond + " is 20000x20000, 400,000,000 pixels: more than the 178,956,970 mnv3 decodes");
    }

    /** An 8-bit grey PNG of zeros; {@code rows} of its rows are in the file, so a smaller number makes a cut image. */
    static Path greyPng(Path file, int w, int h, int rows) throws IOException {
        return Files.write(file, ZeroPngs.grey(w, h, rows));
    }

    // ------------------------------------------------------------ 6. unclear errors

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "info --size 2000000000x2000000000|input 2000000000x2000000000 is too large: H and W must be at most 65536",
            "info --classes 2147483647|number of classes must be from 1 to 1048576, got 2147483647",
            "bench --model small --size 100000x64 --backend cpu|input 100000x64 is too large"})
    void sizesThatWouldOverflowNameTheValue(String command, String expected) {
        assertOneLineError(Cli.run(command.split(" ")), expected);
    }

    @Test
    void resizeBeyondTheLimitNamesTheValue() {
        assertOneLineError(classify("--resize", "100000", photo.toString()), "--resize and --crop: need 1 <= crop <= resize <= "
                + "65536, got resize 100000, crop 224");
    }

    /** An input of 2.7 billion floats (a sparse file: the header is real, the 10.8 GB of zeros take no disk). */
    @Test
    void anInputOverTwoBillionElementsIsRefusedNotAllocated() throws IOException {
        long bytes = 4L * 3 * 30000 * 30000;
        byte[] header = ("{\"input\":{\"dtype\":\"F32\",\"shape\":[1,3,30000,30000],\"data_offsets\":[0," + bytes + "]}}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Path sparse = dir.resolve("sparse.safetensors");
        try (var f = new java.io.RandomAccessFile(sparse.toFile(), "rw")) {
            f.write(ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            f.write(header);
            f.setLength(8 + header.length + bytes);
        }
        assertOneLineError(run(sparse, dir.resolve("o.safetensors")), "tensor 'input' [1,3,30000,30000] in " + sparse
                + " holds 2,700,000,000 values, more than one Java array can hold");
    }

    @Test
    void aTableThatIsNotUtf8OrHasAByteOrderMark() throws IOException {
        Path latin1 = Files.write(dir.resolve("latin1.json"), "{\"name\": \"caf\u00e9\", \"blocks\": []}".getBytes(
                java.nio.charset.StandardCharsets.ISO_8859_1));
        assertOneLineError(Cli.run("info", "--model", latin1.toString()), latin1 + ": is not UTF-8 text (save it as UTF-8)");
        Path bom = Files.writeString(dir.resolve("bom.json"), "\uFEFF{\"blocks\": [{\"kernel\": 3, \"exp\": 16, \"out\": 16}]}");
        assertEquals(0, Cli.run("info", "--model", bom.toString()).exitCode());
        Path junk = Files.writeString(dir.resolve("junk.json"), "{\"blocks\": \uFEFF[]}");
        assertOneLineError(Cli.run("info", "--model", junk.toString()), "U+FEFF");
    }

    @Test
    void aDirectoryOrFifoGivenAsAFileSaysWhatItIs() throws Exception {
        assertOneLineError(run(dir, dir.resolve("o.safetensors")), dir + ": is a directory, not a file");
        Path fifo = dir.resolve("in.fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        assertOneLineError(run(fifo, dir.resolve("o.safetensors")), fifo + ": is not a regular file (a FIFO, socket or device)");
        assertOneLineError(classify(fifo.toString()), fifo + ": is not a regular file");
    }

    @ParameterizedTest
    @ValueSource(strings = {"--ouput", "--wieghts"})
    void aMistypedOptionIsOneLineWithAPointerToHelp(String typo) {
        Cli r = Cli.run("run", "--weights", "w", "--input", "i", typo, "o"); // --output is missing too: the typo is said
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(1, r.err().strip().lines().count(), r.toString());
        assertTrue(r.err().startsWith("mnv3: "), r.toString());
        assertTrue(r.err().contains("Unknown option") && r.err().strip().endsWith("see 'mnv3 run --help'"), r.toString());
        assertTrue(r.err().contains("did you mean"), r.toString());
    }

    // ------------------------------------------------------------ 7. hostile PyTorch checkpoints

    private static Cli runWeights(Path file) {
        return Cli.run("run", "--model", "small", "--backend", "cpu", "--threads", "1", "--weights", file.toString(), "--input",
                input.toString(), "--output", dir.resolve("o.safetensors").toString());
    }

    /** A torch.save-shaped zip (one stored entry per file, under archive/) whose data.pkl is {@code pickle}. */
    private static Path torchZip(String name, byte[] pickle, int keep) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(bytes)) {
            java.util.zip.ZipEntry e = new java.util.zip.ZipEntry("archive/data.pkl");
            e.setMethod(java.util.zip.ZipEntry.STORED);
            e.setSize(pickle.length);
            CRC32 crc = new CRC32();
            crc.update(pickle);
            e.setCrc(crc.getValue());
            z.putNextEntry(e);
            z.write(pickle);
            z.closeEntry();
        }
        byte[] all = bytes.toByteArray();
        return Files.write(dir.resolve(name), java.util.Arrays.copyOf(all, keep < 0 ? all.length : keep));
    }

    /** PROTO 2, GLOBAL module.name, ("touch MARKER",), REDUCE, STOP: what a pickle that runs a command looks like. */
    private static byte[] callPickle(String module, String name, Path marker) {
        String arg = "touch " + marker;
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {(byte) 0x80, 2, 'c'});
        b.writeBytes((module + "\n" + name + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        b.writeBytes(new byte[] {'X', (byte) arg.length(), 0, 0, 0});
        b.writeBytes(arg.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        b.writeBytes(new byte[] {(byte) 0x85, 'R', '.'});
        return b.toByteArray();
    }

    @ParameterizedTest
    @CsvSource({"posix, system", "os, system", "builtins, eval", "subprocess, check_call", "torch.serialization, load"})
    void aCheckpointThatWouldRunSomethingIsRefusedInOneLineAndRunsNothing(String module, String name) throws IOException {
        Path marker = dir.resolve("ran-" + name);
        Path pth = torchZip("evil-" + module + ".pth", callPickle(module, name, marker), -1);
        assertOneLineError(runWeights(pth),
                pth + ": refused: data.pkl calls " + module + "." + name + " (global at byte 2), which a state_dict never needs");
        assertOneLineError(Cli.run("convert", pth.toString(), dir.resolve("evil.safetensors").toString()), "refused: data.pkl calls");
        assertFalse(Files.exists(marker));
        assertFalse(Files.exists(dir.resolve("evil.safetensors")));

        Path stream = Files.write(dir.resolve("evil-" + module + ".pkl"), callPickle(module, name, marker));
        assertOneLineError(runWeights(stream),
                stream + ": a Python pickle, not a PyTorch zip checkpoint, which mnv3 does not unpickle");
    }

    @Test
    void aTruncatedCheckpointIsOneLine() throws IOException {
        byte[] empty = {(byte) 0x80, 2, '}', '.'};
        Path whole = torchZip("whole.pth", empty, -1);
        for (long keep : new long[] {10, 40, Files.size(whole) - 30, Files.size(whole) - 1}) {
            Path cut = torchZip("cut.pth", empty, (int) keep);
            assertOneLineError(runWeights(cut),
                    cut + ": not a readable PyTorch checkpoint: ");
        }
        assertOneLineError(runWeights(whole),
                whole + ": holds no state_dict");
    }
}
