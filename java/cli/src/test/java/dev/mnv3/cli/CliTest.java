package dev.mnv3.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Json;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CpuSettings;
import dev.mnv3.core.backend.CudaSettings;
import dev.mnv3.core.backend.CudnnMode;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.SafeTensors;
import dev.mnv3.core.weights.SafeTensorsWriter;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.ReferenceBackend;
import dev.mnv3.cpu.fast.FastBackend;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

class CliTest {
    @TempDir
    static Path dir;
    static Path smallWeights;
    static Path input;

    /** Small at 64x64 keeps the reference backend fast. */
    @BeforeAll
    static void files() throws Exception {
        Graph small = Graph.of(MobileNetV3Config.small());
        smallWeights = dir.resolve("small.safetensors");
        RandomWeights.generate(small, 3).save(smallWeights, Map.of());
        input = dir.resolve("input.safetensors");
        SafeTensorsWriter.write(input, Map.of("input", RandomWeights.input(2, 64, 64, 4)), Map.of());
    }

    @Test
    void infoPrintsTheTorchvisionParameterTotals() {
        Cli large = Cli.run("info", "--model", "large");
        assertEquals(0, large.exitCode(), large.toString());
        assertTrue(large.out().contains("total parameters: 5,483,032"), large.out());
        assertTrue(large.out().contains("features.4     bneck5x5/2 SE RE"), large.out());
        Cli small = Cli.run("info", "--model", "small", "--size", "160x128");
        assertTrue(small.out().contains("total parameters: 2,542,856"), small.out());
        assertTrue(small.out().contains("576x5x4"), "head conv output at 160x128: " + small.out());
    }

    @Test
    void infoReadsAUserDefinedTable() throws Exception {
        Path table = dir.resolve("tiny.json");
        Files.writeString(table, """
                {"name": "tiny", "stem": 8, "last_channel": 64, "blocks": [
                  {"kernel": 3, "exp": 8, "out": 8, "se": true, "act": "RE", "stride": 2},
                  {"kernel": 5, "exp": 32, "out": 16, "act": "HS", "stride": 2}]}""");
        Cli r = Cli.run("info", "--model", table.toString(), "--classes", "10");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().startsWith("tiny(width 1.0, 10 classes)"), r.out());
        assertTrue(r.out().contains("classifier.3"), r.out());
    }

    @Test
    void runWritesTheLogitsOfTheReferenceBackend() throws Exception {
        Path out = dir.resolve("out.safetensors");
        Cli r = Cli.run("run", "--model", "small", "--weights", smallWeights.toString(), "--input", input.toString(),
                "--output", out.toString(), "--features", "--backend", "cpu-reference");
        assertEquals(0, r.exitCode(), r.toString());
        Graph g = Graph.of(MobileNetV3Config.small());
        Tensor expected;
        try (CompiledModel m = new ReferenceBackend().compile(g, Weights.load(smallWeights, g))) {
            expected = m.run(RunCommand.readInput(input));
        }
        try (SafeTensors st = SafeTensors.open(out)) {
            Tensor logits = st.readTensor("logits");
            assertArrayEquals(new int[] {2, 1000}, logits.shape());
            assertArrayEquals(expected.data(), logits.data());
            for (int s : new int[] {2, 4, 8, 16, 32}) assertTrue(st.contains("stride" + s), "stride" + s);
            assertArrayEquals(new int[] {2, 576, 2, 2}, st.readTensor("stride32").shape());
        }
    }

    @Test
    void classifyPrintsTheTopClassesOfDecodedImages() throws Exception {
        Path png = dir.resolve("gradient.png");
        BufferedImage img = new BufferedImage(300, 200, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 200; y++) for (int x = 0; x < 300; x++) img.setRGB(x, y, (x << 16) | (y << 8) | ((x + y) & 0xff));
        ImageIO.write(img, "png", png.toFile());
        Cli r = Cli.run("classify", "--model", "small", "--weights", smallWeights.toString(), "--backend", "cpu-reference",
                "--top", "3", png.toString());
        assertEquals(0, r.exitCode(), r.toString());
        String[] lines = r.out().strip().split("\n");
        assertEquals(4, lines.length, r.out());
        assertTrue(lines[1].matches("\\s+\\d+\\.\\d\\d%\\s+\\d+\\s+\\S.*"), lines[1]);
    }

    @Test
    void everyCommandExplainsItself() {
        for (String cmd : new String[] {"info", "demo", "run", "classify", "bench", "crosscheck"}) {
            Cli r = Cli.run(cmd, "--help");
            assertEquals(0, r.exitCode(), cmd);
            assertTrue(r.out().contains("Usage: mnv3 " + cmd), r.out());
        }
        Cli top = Cli.run("--help");
        assertTrue(top.out().contains("crosscheck"), top.out());
    }

    @Test
    void demoNamesTheCpuAndTheVectorWidthAndPasses() {
        Cli r = Cli.run("demo", "--model", "small", "--size", "64x64", "--batch", "2", "--seconds", "0.2", "--backend", "cpu",
                "--threads", "1");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("CPU: ") && r.out().contains(" processor"), r.out());
        assertTrue(r.out().contains("kernels: Vector API, " + new FastBackend().vectorBits() + "-bit vectors"), r.out());
        assertTrue(r.out().contains(": PASS"), r.out());
    }

    // ------------------------------------------------------------------ bench

    /** Small at 64x64 on the fast CPU backend, one thread, a few runs per batch size. */
    private static Cli bench(String... extra) {
        List<String> args = new ArrayList<>(List.of("bench", "--model", "small", "--size", "64x64", "--backend", "cpu",
                "--threads", "1", "--seconds", "0.01", "--warmup", "0", "--json"));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    private static List<Map<String, Object>> jsonLines(String out) {
        return out.strip().lines().map(l -> Json.object(Json.parse(l), "a bench line")).toList();
    }

    @Test
    void benchJsonNamesBackendPrecisionAndCudaGraphsForEachBatchSize() {
        Cli r = bench("--batch", "1,2");
        assertEquals(0, r.exitCode(), r.toString());
        List<Map<String, Object>> lines = jsonLines(r.out());
        assertEquals(2, lines.size(), r.out());
        for (int i = 0; i < 2; i++) {
            Map<String, Object> o = lines.get(i);
            assertEquals((long) i + 1, o.get("batch"), r.out());
            assertEquals("cpu", o.get("backend"));
            assertEquals("fp32", o.get("precision"));
            assertEquals(false, o.get("cuda_graphs"), "the CPU replays no CUDA graphs");
            assertEquals((long) new FastBackend().vectorBits(), o.get("vector_bits"), r.out());
            assertTrue(List.of(128L, 256L, 512L).contains(o.get("vector_bits")), "surefire loads the Vector API: " + r.out());
            assertFalse(o.containsKey("cudnn"), "cudnn is said of CUDA models only: " + r.out());
            assertEquals("small", o.get("model"));
            assertTrue(((Number) o.get("images_per_second")).doubleValue() > 0, r.out());
            assertTrue(o.containsKey("p50_ms") && o.containsKey("p99_ms") && !o.containsKey("error"), r.out());
        }
    }

    @Test
    void noCudaGraphsTurnsTheCompileOptionOffAndTheCpuIgnoresIt() {
        BenchCommand on = new BenchCommand(), off = new BenchCommand();
        new CommandLine(on).parseArgs();
        new CommandLine(off).parseArgs("--no-cuda-graphs", "--precision", "tf32");
        assertTrue(on.backend.options().cuda().graphs());
        assertFalse(off.backend.options().cuda().graphs());
        System.setProperty(CudaSettings.GRAPHS_PROPERTY, "false"); // as MNV3_JAVA_OPTS=-Dmnv3.cuda.graphs=false passes it
        try {
            BenchCommand property = new BenchCommand();
            new CommandLine(property).parseArgs();
            assertFalse(property.backend.options().cuda().graphs(), "bench's default sweep follows the property too");
            assertTrue(on.backend.options().cuda().graphs(), "a command reads the properties once");
        } finally {
            System.clearProperty(CudaSettings.GRAPHS_PROPERTY);
        }
        assertEquals(Precision.TF32, off.backend.options().precision());
        Cli r = bench("--no-cuda-graphs");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(false, jsonLines(r.out()).getFirst().get("cuda_graphs"), r.out());
        assertTrue(Cli.run("bench", "--help").out().contains("--no-cuda-graphs"));
    }

    @Test
    void backendSettingFlagsMapToCompileOptions() {
        BenchCommand set = new BenchCommand(), unset = new BenchCommand();
        new CommandLine(set).parseArgs("--conv-kernels", "depthwise=ours,stem=cudnn", "--cuda-streams", "2", "--cuda-debug",
                "--cpu-kernels", "scalar");
        new CommandLine(unset).parseArgs();
        CompileOptions o = set.backend.options();
        assertEquals(new CudaSettings(-1, CudnnMode.AUTO, true, CudaSettings.ConvKernels.OURS, CudaSettings.ConvKernels.AUTO,
                CudaSettings.ConvKernels.CUDNN, 2, true), o.cuda());
        assertEquals(new CpuSettings(true, 0, false), o.cpu());
        CompileOptions defaults = unset.backend.options();
        assertEquals(CompileOptions.fromSystemProperties(), defaults, "the defaults are the properties'");
        System.setProperty(CudaSettings.STREAMS_PROPERTY, "3"); // as MNV3_JAVA_OPTS=-Dmnv3.cuda.streams=3 passes it
        try {
            BenchCommand unsetNow = new BenchCommand(), setNow = new BenchCommand();
            new CommandLine(unsetNow).parseArgs();
            new CommandLine(setNow).parseArgs("--cuda-streams", "2");
            assertEquals(3, unsetNow.backend.options().cuda().streams());
            assertEquals(2, setNow.backend.options().cuda().streams(), "the flag wins");
            assertEquals(defaults, unset.backend.options(), "a command reads the properties once");
        } finally {
            System.clearProperty(CudaSettings.STREAMS_PROPERTY);
        }
        BenchCommand vector = new BenchCommand();
        new CommandLine(vector).parseArgs("--cpu-kernels", "vector", "--conv-kernels", "ours");
        assertFalse(vector.backend.options().cpu().scalar());
        assertEquals(CudaSettings.ConvKernels.OURS, vector.backend.options().cuda().pointwise());
        BadInputTest.assertOneLineError(bench("--conv-kernels", "fastest"), "--conv-kernels: conv kernels must be auto, ours or cudnn");
        BadInputTest.assertOneLineError(bench("--conv-kernels", "winograd=ours"), "--conv-kernels: conv kinds are depthwise");
        BadInputTest.assertOneLineError(bench("--cuda-streams", "0"), "--cuda-streams must be from 1 to 64");
        BadInputTest.assertOneLineError(bench("--cpu-kernels", "384"), "--cpu-kernels: CPU kernels are vector or scalar");
        assertTrue(Cli.run("bench", "--help").out().contains("--conv-kernels"));
    }

    @Test
    void benchPrintsAnErrorLinePerBatchSizeWhenThePrecisionCannotRun() {
        Cli r = bench("--precision", "fp16", "--batch", "1,8");
        assertEquals(1, r.exitCode(), r.toString());
        List<Map<String, Object>> lines = jsonLines(r.out());
        assertEquals(List.of(1L, 8L), lines.stream().map(o -> o.get("batch")).toList(), r.out());
        for (Map<String, Object> o : lines) {
            assertEquals("fp16", o.get("precision"));
            assertEquals("cpu", o.get("backend"));
            assertTrue(((String) o.get("error")).contains("FP32 only"), r.out());
            assertFalse(o.containsKey("images_per_second"));
        }
        assertTrue(r.err().startsWith("mnv3: cpu runs FP32 only"), r.toString());
        assertTrue(r.err().contains("--backend cuda"), "says where FP16 runs: " + r);
    }

    @Test
    void benchGoesOnAfterABatchSizeThatFails() {
        Cli r = bench("--batch", "200000,2");
        assertEquals(1, r.exitCode(), r.toString());
        List<Map<String, Object>> lines = jsonLines(r.out());
        assertEquals(2, lines.size(), r.out());
        assertTrue(((String) lines.get(0).get("error")).contains("more than one Java array can hold"), r.out());
        assertEquals(2L, lines.get(1).get("batch"));
        assertTrue(lines.get(1).containsKey("images_per_second"), r.out());
        assertTrue(r.err().contains("mnv3: 1 of 2 batch sizes failed: batch 200000: "), r.err());
    }

    @Test
    void benchWithSeveralClientsCountsEveryClientsImages() {
        Cli r = bench("--clients", "3", "--batch", "2");
        assertEquals(0, r.exitCode(), r.toString());
        Map<String, Object> o = jsonLines(r.out()).getFirst();
        assertEquals(3L, o.get("clients"), r.out());
        assertTrue(((Number) o.get("runs")).longValue() >= 3, "at least one run per client, each counted: " + r.out());
        assertTrue(((Number) o.get("images_per_second")).doubleValue() > 0, r.out());
        assertOneLineError(bench("--clients", "0"), "--clients must be from 1 to 256, got 0");
    }

    @Test
    void benchMeasuresEveryCombinationOfItsListsInOneProcess() {
        Cli r = bench("--precision", "fp32,fp16", "--graphs", "on,off", "--clients", "1,2", "--batch", "1");
        assertEquals(1, r.exitCode(), r.toString());
        List<Map<String, Object>> lines = jsonLines(r.out());
        assertEquals(8, lines.size(), r.out());
        assertEquals(List.of(1L, 2L, 1L, 2L), lines.subList(0, 4).stream().map(o -> o.get("clients")).toList(), r.out());
        assertTrue(lines.subList(0, 4).stream().allMatch(o -> o.containsKey("images_per_second")), r.out());
        assertTrue(lines.subList(4, 8).stream().allMatch(o -> "fp16".equals(o.get("precision"))
                && ((String) o.get("error")).contains("FP32 only")), r.out());
        assertTrue(r.err().contains("mnv3: 4 of 8 measurements failed: fp16, 1 client, batch 1: cpu runs FP32 only"), r.err());
    }

    @Test
    void benchSweepGroupsAreMeasuredInTurn() {
        Cli r = bench("--sweep", "batch=1,2", "--sweep", "clients=2 batch=1");
        assertEquals(0, r.exitCode(), r.toString());
        List<Map<String, Object>> lines = jsonLines(r.out());
        assertEquals(List.of(1L, 2L, 1L), lines.stream().map(o -> o.get("batch")).toList(), r.out());
        assertEquals(List.of(1L, 1L, 2L), lines.stream().map(o -> o.get("clients")).toList(), r.out());
        assertOneLineError(bench("--sweep", "size=1"), "--sweep: unknown key 'size' (keys: precision, graphs, cudnn, clients, batch)");
        assertOneLineError(bench("--sweep", "batch"), "--sweep: 'batch' is not key=value[,value...] (keys: precision, graphs, cudnn, "
                + "clients, batch)");
        assertOneLineError(bench("--graphs", "maybe"), "CUDA graphs must be on or off, got 'maybe'");
        Cli demo = Cli.run("demo", "--model", "small", "--size", "64", "--backend", "cpu", "--precision", "fp32,fp16");
        assertEquals(1, demo.exitCode(), demo.toString());
        assertTrue(demo.err().contains("--precision takes one value here, got 'fp32,fp16' (bench and crosscheck take several)"),
                demo.toString());
    }

    @Test
    void crosscheckChecksEveryPrecisionAgainstOneReferenceRun() {
        Cli r = Cli.run("crosscheck", "--model", "small", "--size", "64", "--batch", "1", "--backend", "cpu", "--cudnn",
                "auto,off,on", "--precision", "fp32");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(1, r.out().lines().filter(l -> l.startsWith("all 16 nodes pass")).count(), "the CPU has no cuDNN modes: "
                + r.out());
        Cli both = Cli.run("crosscheck", "--model", "small", "--size", "64", "--batch", "1", "--backend", "cpu", "--precision",
                "fp32,fp16");
        assertEquals(1, both.exitCode(), both.toString());
        assertTrue(both.out().contains("all 16 nodes pass: cpu matches cpu-reference (worst rel L2 "), both.out());
        assertTrue(both.err().startsWith("mnv3: cpu runs FP32 only, not FP16"), both.err());
    }

    @Test
    void devicesAreListedOrWhyNot() {
        Cli r = Cli.run("info", "--devices");
        if (r.exitCode() == 0) {
            assertTrue(r.out().contains("GPU"), r.out()); // a machine with a driver
        } else {
            assertOneLineError(r, "libcuda.so.1 was not found");
        }
        assertOneLineError(bench("--device", "-5"), "--device must be a device number (0, 1, ...), got -5");
    }

    @Test
    void benchChecksEveryBatchSizeBeforeMeasuring() {
        assertOneLineError(bench("--batch", "1,0"), "--batch must be >= 1, got 0");
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void missingFile() {
        assertOneLineError(Cli.run("run", "--weights", dir.resolve("nope.safetensors").toString(), "--input", input.toString(),
                "--output", dir.resolve("o.safetensors").toString()), "file not found");
    }

    @Test
    void corruptSafetensors() throws Exception {
        Path bad = dir.resolve("corrupt.safetensors");
        Files.write(bad, new byte[] {1, 2, 3});
        assertOneLineError(Cli.run("run", "--model", "small", "--weights", bad.toString(), "--input", input.toString(),
                "--output", dir.resolve("o.safetensors").toString()), "not a valid safetensors file: truncated");
    }

    @Test
    void weightsThatDoNotFitTheModel() {
        Cli r = Cli.run("run", "--model", "small", "--classes", "10", "--weights", smallWeights.toString(), "--input",
                input.toString(), "--output", dir.resolve("o.safetensors").toString());
        assertEquals(1, r.exitCode());
        assertTrue(r.err().startsWith("mnv3: small.safetensors do not fit small(width 1.0, 10 classes)"), r.err());
        assertTrue(r.err().contains("wrong shape: classifier.3.weight expected [10,1024], found [1000,1024]"), r.err());
        assertTrue(r.err().contains("--classes 1000"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose");
    }

    @Test
    void undecodableImage() throws Exception {
        Path txt = dir.resolve("not-an-image.jpg");
        Files.writeString(txt, "hello");
        assertOneLineError(Cli.run("classify", "--model", "small", "--weights", smallWeights.toString(), txt.toString()),
                "cannot decode image");
    }

    @ParameterizedTest
    @ValueSource(strings = {"rank", "channels", "small"})
    void badInputTensors(String kind) throws Exception {
        Tensor t = switch (kind) {
            case "rank" -> Tensor.zeros(3, 64, 64);
            case "channels" -> Tensor.zeros(1, 4, 64, 64);
            default -> Tensor.zeros(1, 3, 16, 64);
        };
        Path file = dir.resolve(kind + "-input.safetensors");
        SafeTensorsWriter.write(file, Map.of("input", t), Map.of());
        String expected = switch (kind) {
            case "rank" -> "input must be a rank-4 tensor [N,3,H,W], got rank 3";
            case "channels" -> "input must have 3 channels";
            default -> "input 16x64 is too small";
        };
        assertOneLineError(Cli.run("run", "--model", "small", "--weights", smallWeights.toString(), "--input", file.toString(),
                "--output", dir.resolve("o.safetensors").toString()), expected);
    }

    @Test
    void verboseAddsTheStackTrace() {
        Cli r = Cli.run("run", "--verbose", "--weights", dir.resolve("nope").toString(), "--input", input.toString(),
                "--output", dir.resolve("o.safetensors").toString());
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("\tat "), r.err());
    }

    @Test
    void badOptionValuesAreUsageErrors() {
        Cli r = Cli.run("info", "--size", "big");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("'big' is not a size"), r.err());
    }

    private static void assertOneLineError(Cli r, String expected) {
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().startsWith("mnv3: "), r.toString());
        assertTrue(r.err().contains(expected), r.toString());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertTrue(r.out().isEmpty(), r.toString());
    }
}
