package dev.mnv3.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.api.Classification;
import dev.mnv3.core.Json;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.ImageDecoder;
import dev.mnv3.core.image.ImageNetClasses;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.Weights;
import dev.mnv3.cpu.fast.FastBackend;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** classify over many files: the pipeline's results, order, errors, progress and JSON lines, through the command line. */
class ClassifyTest {
    private static final int RESIZE = 72, CROP = 64, IMAGES = 11;

    @TempDir
    static Path dir;
    static Path weights, images, damaged, notAnImage;

    @BeforeAll
    static void files() throws Exception {
        weights = dir.resolve("small.safetensors");
        RandomWeights.generate(Graph.of(MobileNetV3Config.small()), 3).save(weights, Map.of());
        images = Files.createDirectories(dir.resolve("images/sub"));
        Random rnd = new Random(3);
        for (int i = 0; i < IMAGES; i++) {
            // several sizes and both formats; the subdirectory's files sort after the directory's
            Path parent = i < 4 ? images : images.getParent();
            write(picture(60 + rnd.nextInt(60), 60 + rnd.nextInt(60), rnd), parent.resolve(String.format("p%02d.%s", i,
                    i % 3 == 0 ? "png" : "jpg")));
        }
        byte[] jpeg = Files.readAllBytes(images.getParent().resolve("p04.jpg"));
        damaged = Files.write(dir.resolve("damaged.jpg"), Arrays.copyOf(jpeg, jpeg.length * 2 / 3));
        notAnImage = Files.writeString(dir.resolve("notes.jpg"), "not an image");
    }

    static BufferedImage picture(int w, int h, Random rnd) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int a = rnd.nextInt(256), b = rnd.nextInt(256);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) img.setRGB(x, y, ((x * a / w) & 0xff) << 16 | ((y * b / h) & 0xff) << 8 | rnd.nextInt(256));
        }
        return img;
    }

    static void write(BufferedImage img, Path p) throws IOException {
        ImageIO.write(img, p.toString().endsWith("png") ? "png" : "jpg", p.toFile());
    }

    private static Cli classify(String... extra) {
        List<String> args = new ArrayList<>(List.of("classify", "--model", "small", "--backend", "cpu", "--threads", "1",
                "--weights", weights.toString(), "--resize", "" + RESIZE, "--crop", "" + CROP, "--top", "3"));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    /** The image files of the directory as classify orders them. */
    private static List<Path> imageFiles() throws IOException {
        try (Stream<Path> s = Files.walk(images.getParent())) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> jsonLines(Path file) throws IOException {
        return Files.readAllLines(file).stream().map(l -> (Map<String, Object>) Json.parse(l)).toList();
    }

    @Test
    void jsonLinesHoldEveryImageInOrderWithWhatOneImageAtATimeGives() throws Exception {
        Path out = dir.resolve("results.jsonl");
        Cli r = classify("--batch", "4", "--decode-threads", "3", "--output", out.toString(), images.getParent().toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().startsWith("wrote " + out + ": " + IMAGES + " images classified in "), r.out());
        assertTrue(r.out().contains("images/s (decoding included; cpu, batch 4, 3 decode threads)"), r.out());

        // the expected results: each image decoded alone on this thread and run alone
        List<Path> files = imageFiles();
        Graph g = Graph.of(MobileNetV3Config.small());
        Preprocessing prep = new Preprocessing(RESIZE, CROP);
        List<Map<String, Object>> lines = jsonLines(out);
        assertEquals(IMAGES, lines.size());
        Weights w = Weights.load(weights, g);
        try (CompiledModel m = new FastBackend().compile(g, w, CompileOptions.defaults().withThreads(1))) {
            Object firstTop = null;
            for (int i = 0; i < IMAGES; i++) {
                Map<String, Object> line = lines.get(i);
                assertEquals(files.get(i).toString(), line.get("file"), "order kept");
                Tensor crop = Tensor.zeros(1, 3, CROP, CROP);
                assertEquals(List.of(), ImageDecoder.preprocess(ImageSource.of(files.get(i)), prep, crop.data(), 0));
                List<Classification> expected = ClassifyCommand.topClasses(m.run(crop).data(), 0, g.numClasses(), 3);
                List<Object> top = Json.array(line.get("top"), "top");
                assertEquals(3, top.size());
                for (int k = 0; k < 3; k++) {
                    Map<String, Object> c = Json.object(top.get(k), "class");
                    assertEquals(expected.get(k).index(), Json.intValue(c.get("class"), "class"), files.get(i) + " rank " + k);
                    assertEquals(expected.get(k).probability(), Json.doubleValue(c.get("probability"), "p"), 1e-5);
                    assertEquals(ImageNetClasses.name(expected.get(k).index(), 1000), c.get("label"));
                }
                if (i == 0) firstTop = line.get("top");
                else assertNotEquals(firstTop, line.get("top"), "the images rank differently: the comparison can fail");
            }
        }
        // the same lines from one decode thread, one image per batch, and from the text output's order
        Path serial = dir.resolve("serial.jsonl");
        assertEquals(0, classify("--batch", "1", "--decode-threads", "1", "--output", serial.toString(),
                images.getParent().toString()).exitCode());
        // the same files, order, classes and labels; probabilities within FP32 rounding, not to the bit: a batch's
        // images may share GEMM tiles (stacked late layers), whose rows sum in another order than one image alone
        List<Map<String, Object>> serialLines = jsonLines(serial);
        assertEquals(lines.size(), serialLines.size());
        for (int i = 0; i < lines.size(); i++) {
            assertEquals(lines.get(i).get("file"), serialLines.get(i).get("file"), "order kept");
            List<Object> batched = Json.array(lines.get(i).get("top"), "top"), alone = Json.array(serialLines.get(i).get("top"), "top");
            assertEquals(batched.size(), alone.size());
            for (int k = 0; k < batched.size(); k++) {
                Map<String, Object> b = Json.object(batched.get(k), "class"), a = Json.object(alone.get(k), "class");
                assertEquals(a.get("class"), b.get("class"), lines.get(i).get("file") + " rank " + k);
                assertEquals(a.get("label"), b.get("label"));
                assertEquals(Json.doubleValue(a.get("probability"), "p"), Json.doubleValue(b.get("probability"), "p"), 1e-6);
            }
        }
        Cli text = classify("--batch", "4", images.getParent().toString());
        assertEquals(files.stream().map(f -> f + ":").toList(), text.out().lines().filter(l -> !l.startsWith(" ")).toList());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().endsWith(".mnv3-tmp")).toList(), "no temp files");
        }
    }

    @Test
    void lenientRunsWriteAnErrorLineAndAWarningWhereTheyHappen() throws Exception {
        Path out = dir.resolve("lenient.jsonl");
        List<Path> files = imageFiles();
        Cli r = classify("--lenient", "--batch", "2", "--output", out.toString(), files.get(0).toString(), notAnImage.toString(),
                damaged.toString(), files.get(1).toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains(": 3 images classified, 1 skipped (--lenient) in "), r.out());
        List<Map<String, Object>> lines = jsonLines(out);
        assertEquals(List.of(files.get(0).toString(), notAnImage.toString(), damaged.toString(), files.get(1).toString()),
                lines.stream().map(l -> l.get("file")).toList());
        assertEquals("cannot decode image " + notAnImage + ": not a JPEG, PNG, BMP or GIF file", lines.get(1).get("error"));
        assertFalse(lines.get(1).containsKey("top"));
        assertTrue(String.valueOf(lines.get(2).get("warning")).startsWith(damaged + " is damaged: "), lines.get(2).toString());
        assertTrue(lines.get(2).containsKey("top"));
        List<String> warnings = r.err().lines().filter(l -> l.startsWith("mnv3: warning: ")).toList();
        assertEquals(2, warnings.size(), r.err());
        assertTrue(warnings.get(0).contains(notAnImage.toString()) && warnings.get(1).contains(damaged.toString()), r.err());
    }

    @Test
    void anImageThatFailsStopsTheRunAndLeavesNoOutput() throws Exception {
        Path out = dir.resolve("strict.jsonl");
        List<Path> files = imageFiles();
        Cli r = classify("--batch", "2", "--no-progress", "--output", out.toString(), files.get(0).toString(),
                files.get(1).toString(), damaged.toString());
        BadInputTest.assertOneLineError(r, damaged + " is damaged: ");
        Cli withProgress = classify("--batch", "2", "--output", out.toString(), files.get(0).toString(), files.get(1).toString(),
                damaged.toString());
        assertEquals(1, withProgress.exitCode(), withProgress.toString());
        assertTrue(withProgress.err().lines().toList().getLast().startsWith("mnv3: " + damaged + " is damaged: "),
                "the error is the last line, after the progress: " + withProgress);
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().endsWith(".mnv3-tmp")).toList(), "no temp files");
        }
        Cli missing = classify(files.get(0).toString(), dir.resolve("nowhere.jpg").toString());
        BadInputTest.assertOneLineError(missing, "file not found: " + dir.resolve("nowhere.jpg"));
    }

    @Test
    void theOutputIsNeverAnInput() throws Exception {
        Path victim = imageFiles().get(2);
        byte[] before = Files.readAllBytes(victim);
        BadInputTest.assertOneLineError(classify("--output", victim.toString(), images.getParent().toString()),
                "refusing to overwrite an input of this command");
        assertArrayEquals(before, Files.readAllBytes(victim));
    }

    /**
     * WebP (TwelveMonkeys' reader) and CMYK JPEG classify: a lossless WebP as the PNG it was made from, a CMYK JPEG as
     * PIL's RGB conversion of it (written as PNG) within a level, so within rounding of the probabilities.
     */
    @Test
    void webpAndCmykJpegClassifyAsThePixelsPilSees() throws Exception {
        Path formats = Files.createDirectories(dir.resolve("formats"));
        Path png = imageFiles().getFirst();
        String script = String.join("\n", "import sys", "from PIL import Image", "d = sys.argv[2]; im = Image.open(sys.argv[1])",
                "im.save(d + '/a.webp', lossless=True)", "im.convert('CMYK').save(d + '/b.jpg', quality=95)",
                "Image.open(d + '/b.jpg').convert('RGB').save(d + '/b.png')");
        dev.mnv3.core.testing.TorchReference.runScript(script, png.toString(), formats.toString());
        Path out = dir.resolve("formats.jsonl");
        Cli r = classify("--output", out.toString(), png.toString(), formats.resolve("a.webp").toString(),
                formats.resolve("b.jpg").toString(), formats.resolve("b.png").toString());
        assertEquals(0, r.exitCode(), r.toString());
        List<Map<String, Object>> lines = jsonLines(out);
        assertEquals(lines.get(0).get("top"), lines.get(1).get("top"), "the WebP ranks as its PNG");
        List<Object> cmyk = Json.array(lines.get(2).get("top"), "top"), rgb = Json.array(lines.get(3).get("top"), "top");
        for (int k = 0; k < 3; k++) {
            Map<String, Object> a = Json.object(cmyk.get(k), "class"), b = Json.object(rgb.get(k), "class");
            assertEquals(b.get("class"), a.get("class"), "rank " + k);
            assertEquals(Json.doubleValue(b.get("probability"), "p"), Json.doubleValue(a.get("probability"), "p"), 1e-3);
        }
        assertNotEquals(lines.get(0).get("top"), lines.get(2).get("top"), "the two images rank differently: the comparison can fail");
    }

    @Test
    void progressGoesToStderrWhenTheImagesFillMoreThanOneBatch() throws Exception {
        Path out = dir.resolve("progress.jsonl");
        Cli r = classify("--batch", "2", "--output", out.toString(), images.getParent().toString());
        assertEquals(0, r.exitCode(), r.toString());
        List<String> lines = r.err().lines().toList();
        assertTrue(lines.size() >= 2 && lines.stream().allMatch(l -> l.startsWith("classify ")), r.err());
        assertTrue(lines.getLast().matches("classify 100%  " + IMAGES + "/" + IMAGES + " images, [\\d.]+ images/s"), r.err());
        assertEquals("", classify("--batch", "2", "--no-progress", "--output", out.toString(), images.getParent().toString()).err());
        assertEquals("", classify("--batch", "" + IMAGES, "--output", out.toString(), images.getParent().toString()).err(),
                "one batch: no bar");
    }

    @Test
    void directoriesAndGlobsExpandInNameOrder() throws Exception {
        List<Path> files = imageFiles();
        Cli glob = classify("--batch", "16", dir.resolve("images") + "/**.png");
        assertEquals(0, glob.exitCode(), glob.toString());
        List<String> pngs = files.stream().filter(f -> f.toString().endsWith(".png")).map(f -> f + ":").toList();
        assertEquals(pngs, glob.out().lines().filter(l -> !l.startsWith(" ")).toList());
        Path empty = Files.createDirectories(dir.resolve("empty"));
        BadInputTest.assertOneLineError(classify(empty.toString()), "no JPEG, PNG, WebP, BMP or GIF files in directory " + empty);
        BadInputTest.assertOneLineError(classify(dir.resolve("images") + "/*.tiff"), "no files match " + dir.resolve("images")
                + "/*.tiff");
    }

    @Test
    void wholeImagesOfOneSizeGoToTheModelAsU8WithTheSameResults() throws Exception {
        Path same = Files.createDirectories(dir.resolve("same"));
        Random rnd = new Random(9);
        for (int i = 0; i < 5; i++) write(picture(90, 70, rnd), same.resolve("s" + i + (i % 2 == 0 ? ".png" : ".jpg")));
        Path host = dir.resolve("host.jsonl"), model = dir.resolve("model.jsonl");
        assertEquals(0, classify("--preprocess", "host", "--batch", "3", "--output", host.toString(), same.toString()).exitCode());
        assertEquals(0, classify("--preprocess", "model", "--batch", "3", "--output", model.toString(), same.toString()).exitCode());
        assertEquals(Files.readAllLines(host), Files.readAllLines(model));
        assertEquals(5, Files.readAllLines(host).size());
    }

    @Test
    void badOptionValuesAreOneLine() {
        BadInputTest.assertOneLineError(classify("--decode-threads", "1000", dir.toString()),
                "--decode-threads must be from 0 (all available processors) to 256, got 1000");
        BadInputTest.assertOneLineError(classify("--preprocess", "gpu", dir.toString()),
                "--preprocess must be auto, host or model, got 'gpu'");
    }
}
