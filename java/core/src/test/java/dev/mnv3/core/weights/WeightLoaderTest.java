package dev.mnv3.core.weights;

import dev.mnv3.core.tensor.DType;
import static dev.mnv3.core.weights.WeightsTest.SMALL;
import static dev.mnv3.core.weights.WeightsTest.assertSameWeights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.SafeTensorsWriter.Blob;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Weights.load on torchvision-named files: every mismatch reported at once, dtypes converted, extras ignored. */
class WeightLoaderTest {

    @TempDir
    Path dir;

    private Path write(List<Blob> blobs) throws IOException {
        Path p = dir.resolve("weights.safetensors");
        SafeTensorsWriter.write(p, blobs, null);
        return p;
    }

    private static List<Blob> blobs(Weights w, DType dtype) {
        List<Blob> out = new ArrayList<>();
        w.asMap().forEach((n, t) -> out.add(Blob.of(n, t, dtype)));
        return out;
    }

    private static Weights converted(Weights w, UnaryOperator<Float> rounding) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        w.asMap().forEach((n, t) -> {
            float[] d = t.data().clone();
            for (int i = 0; i < d.length; i++) d[i] = rounding.apply(d[i]);
            m.put(n, new Tensor(t.shape(), d));
        });
        return new Weights(m);
    }

    @Test
    void everyProblemIsReportedAtOnce() throws IOException {
        Weights w = RandomWeights.generate(SMALL, 1);
        List<Blob> blobs = new ArrayList<>();
        for (Blob b : blobs(w, DType.F32)) {
            switch (b.name()) {
                case "features.0.0.weight" -> { } // missing
                case "features.0.1.running_var" -> blobs.add(Blob.ofLongs(b.name(), b.shape(), new long[16]));
                case "features.1.block.0.0.weight" -> blobs.add(Blob.of(b.name(), Tensor.zeros(16, 1, 5, 5), DType.F32));
                default -> blobs.add(b);
            }
        }
        blobs.add(Blob.of("features.99.weight", Tensor.zeros(3), DType.F32));
        Path p = write(blobs);

        var e = assertThrows(WeightMismatchException.class, () -> Weights.load(p, SMALL));
        List<String> expected = List.of(
                "missing: features.0.0.weight [16,3,3,3]",
                "wrong type: features.0.1.running_var is I64, expected a floating-point tensor",
                "wrong shape: features.1.block.0.0.weight expected [16,1,3,3], found [16,1,5,5]",
                "unexpected: features.99.weight [3]");
        assertEquals(expected, e.problems());
        String m = e.getMessage();
        assertTrue(m.startsWith("weights.safetensors do not fit small(width 1.0, 1000 classes): "
                + "1 missing, 1 unexpected, 2 wrong shape or type\n"), m);
        for (String line : expected) assertTrue(m.contains("\n  " + line), line);
        assertFalse(m.contains("hint"), "the classifier fits: no --classes hint");
    }

    @Test
    void classifierWithOtherClassCountSuggestsTheClassesOption() throws IOException {
        Weights tenClasses = RandomWeights.generate(Graph.of(MobileNetV3Config.small().withClasses(10)), 1);
        Path p = write(blobs(tenClasses, DType.F32));
        var e = assertThrows(WeightMismatchException.class, () -> Weights.load(p, SMALL));
        assertEquals(List.of("wrong shape: classifier.3.weight expected [1000,1024], found [10,1024]",
                "wrong shape: classifier.3.bias expected [1000], found [10]"), e.problems());
        assertTrue(e.getMessage().endsWith("\n  hint: the file's classifier has 10 classes: set MobileNetV3Config.numClasses to 10"), e.getMessage());
    }

    @Test
    void classesHintAlsoPointsUpwards() throws IOException {
        Path p = write(blobs(RandomWeights.generate(SMALL, 1), DType.F32));
        Graph ten = Graph.of(MobileNetV3Config.small().withClasses(10));
        var e = assertThrows(WeightMismatchException.class, () -> Weights.load(p, ten));
        assertEquals(2, e.problems().size(), e.getMessage());
        assertTrue(e.getMessage().contains("set MobileNetV3Config.numClasses to 1000"), e.getMessage());
    }

    @Test
    void weightsOfTheOtherModelAreRejectedWithCounts() throws IOException {
        Path p = write(blobs(RandomWeights.generate(Graph.of(MobileNetV3Config.large()), 1), DType.F32));
        var e = assertThrows(WeightMismatchException.class, () -> Weights.load(p, SMALL));
        long missing = e.problems().stream().filter(s -> s.startsWith("missing: ")).count();
        long unexpected = e.problems().stream().filter(s -> s.startsWith("unexpected: ")).count();
        long shape = e.problems().stream().filter(s -> s.startsWith("wrong shape: ")).count();
        assertTrue(missing > 0 && unexpected > 0 && shape > 0, e.getMessage());
        assertEquals(missing + unexpected + shape, e.problems().size());
        assertTrue(e.getMessage().contains(missing + " missing, " + unexpected + " unexpected, " + shape + " wrong shape or type"),
                e.getMessage());
    }

    @Test
    void numBatchesTrackedIsIgnored() throws IOException {
        Weights w = RandomWeights.generate(SMALL, 2);
        List<Blob> blobs = new ArrayList<>();
        for (Blob b : blobs(w, DType.F32)) {
            blobs.add(b);
            if (b.name().endsWith(".running_var")) {
                String bn = b.name().substring(0, b.name().length() - "running_var".length());
                blobs.add(Blob.ofLongs(bn + "num_batches_tracked", new long[0], new long[] {12345}));
            }
        }
        Path p = write(blobs);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertTrue(st.contains("features.0.1.num_batches_tracked"));
        }
        assertSameWeights(w, Weights.load(p, SMALL));
    }

    @Test
    void f16FileLoadsAsFloat() throws IOException {
        Weights w = RandomWeights.generate(SMALL, 3);
        Weights loaded = Weights.load(write(blobs(w, DType.F16)), SMALL);
        assertSameWeights(converted(w, f -> Float.float16ToFloat(Float.floatToFloat16(f))), loaded);
        assertFalse(java.util.Arrays.equals(w.data("features.0.0.weight"), loaded.data("features.0.0.weight")),
                "the values really went through float16");
    }

    @Test
    void bf16FileLoadsAsFloat() throws IOException {
        Weights w = RandomWeights.generate(SMALL, 4);
        Weights loaded = Weights.load(write(blobs(w, DType.BF16)), SMALL);
        assertSameWeights(converted(w, SafeTensorsRoundTripTest::bf16Reference), loaded);
    }

    @Test
    void mixedDtypesInOneFileLoad() throws IOException {
        Weights w = RandomWeights.generate(SMALL, 5);
        List<Blob> blobs = new ArrayList<>();
        w.asMap().forEach((n, t) -> blobs.add(Blob.of(n, t, n.endsWith("running_var") ? DType.F32 : DType.BF16)));
        Weights loaded = Weights.load(write(blobs), SMALL);
        assertEquals(w.get("features.3.block.0.1.running_var").data()[0], loaded.data("features.3.block.0.1.running_var")[0]);
        assertEquals(SafeTensorsRoundTripTest.bf16Reference(w.data("features.3.block.0.0.weight")[0]),
                loaded.data("features.3.block.0.0.weight")[0]);
    }

    @Test
    void loadedWeightsFollowGraphOrderWhateverTheFileOrder() throws IOException {
        Weights w = RandomWeights.generate(SMALL, 6);
        List<Blob> reversed = new ArrayList<>(blobs(w, DType.F32)).reversed();
        assertSameWeights(w, Weights.load(write(reversed), SMALL));
    }

    @Test
    void loadingAMalformedFileIsAFormatError() throws IOException {
        Path p = RawSafeTensors.write(dir.resolve("junk.safetensors"), "{\"a\":1}", new byte[0]);
        assertThrows(SafeTensorsFormatException.class, () -> Weights.load(p, SMALL));
    }
}
