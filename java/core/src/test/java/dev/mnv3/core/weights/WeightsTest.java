package dev.mnv3.core.weights;

import dev.mnv3.core.tensor.DType;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.ParamSpec;
import dev.mnv3.core.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RandomWeights, and Weights as a container: save/load round trip, lookup, checkFits. */
class WeightsTest {
    static final Graph SMALL = Graph.of(MobileNetV3Config.small());

    @TempDir
    Path dir;

    /** Asserts two weight sets hold the same names in the same order with identical shapes and values. */
    static void assertSameWeights(Weights expected, Weights actual) {
        assertEquals(List.copyOf(expected.asMap().keySet()), List.copyOf(actual.asMap().keySet()));
        for (String n : expected.asMap().keySet()) {
            assertArrayEquals(expected.get(n).shape(), actual.get(n).shape(), n);
            assertArrayEquals(expected.data(n), actual.data(n), n);
        }
    }

    private static List<String> bnPrefixes(Graph g) {
        List<String> out = new ArrayList<>();
        for (ParamSpec p : g.parameters()) {
            if (p.name().endsWith(".running_var")) out.add(p.name().substring(0, p.name().length() - ".running_var".length()));
        }
        return out;
    }

    // ---------------------------------------------------------------- RandomWeights

    @Test
    void randomWeightsHoldExactlyTheGraphParameters() {
        Weights w = RandomWeights.generate(SMALL, 1);
        assertEquals(SMALL.parameters().stream().map(ParamSpec::name).toList(), List.copyOf(w.asMap().keySet()));
        for (ParamSpec p : SMALL.parameters()) assertArrayEquals(p.shape(), w.get(p.name()).shape(), p.name());
        w.checkFits(SMALL);
    }

    @Test
    void sameSeedGivesTheSameValues() {
        assertSameWeights(RandomWeights.generate(SMALL, 42), RandomWeights.generate(SMALL, 42));
    }

    @Test
    void anotherSeedChangesEveryTensor() {
        Weights a = RandomWeights.generate(SMALL, 42), b = RandomWeights.generate(SMALL, 43);
        for (String n : a.asMap().keySet()) assertFalse(Arrays.equals(a.data(n), b.data(n)), n);
    }

    @Test
    void valuesDependOnTheNameNotOnTheRestOfTheGraph() {
        Weights k1000 = RandomWeights.generate(SMALL, 5);
        Weights k10 = RandomWeights.generate(Graph.of(MobileNetV3Config.small().withClasses(10)), 5);
        assertArrayEquals(k1000.data("features.3.block.1.0.weight"), k10.data("features.3.block.1.0.weight"));
        assertArrayEquals(k1000.data("classifier.0.weight"), k10.data("classifier.0.weight"));
    }

    @Test
    void batchNormStatisticsAreFarFromIdentity() {
        Weights w = RandomWeights.generate(SMALL, 7);
        List<String> prefixes = bnPrefixes(SMALL);
        assertTrue(prefixes.containsAll(List.of("features.0.1", "features.1.block.0.1", "features.12.1")), prefixes.toString());
        for (String bn : prefixes) {
            float[] var = w.data(bn + ".running_var"), mean = w.data(bn + ".running_mean");
            float[] gamma = w.data(bn + ".weight"), beta = w.data(bn + ".bias");
            for (float v : var) assertTrue(v >= 0.5f && v <= 2f, bn + " var " + v);
            assertTrue(spread(var) > 0.5, bn + " running_var is nearly constant");
            assertTrue(maxAbs(mean) > 0.05, bn + " running_mean is nearly zero");
            assertTrue(spread(gamma) > 0.2 && gamma[0] > 0, bn + " weight (gamma)");
            assertTrue(maxAbs(beta) > 0.01, bn + " bias (beta) is nearly zero");
        }
    }

    private static double spread(float[] v) {
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
        for (float f : v) {
            min = Math.min(min, f);
            max = Math.max(max, f);
        }
        return v.length == 1 ? Double.MAX_VALUE : max - min;
    }

    private static double maxAbs(float[] v) {
        double m = 0;
        for (float f : v) m = Math.max(m, Math.abs(f));
        return m;
    }

    @Test
    void kernelsAreHeScaled() {
        Weights w = RandomWeights.generate(Graph.of(MobileNetV3Config.large()), 3);
        for (String name : List.of("features.0.0.weight", "features.16.0.weight", "classifier.0.weight")) {
            float[] v = w.data(name);
            int[] shape = w.get(name).shape();
            int fanIn = v.length / shape[0];
            double sumSq = 0;
            for (float f : v) sumSq += (double) f * f;
            double std = Math.sqrt(sumSq / v.length), expected = Math.sqrt(2.0 / fanIn);
            assertEquals(expected, std, 0.1 * expected, name);
        }
    }

    @Test
    void randomInputIsDeterministicStandardNormal() {
        Tensor a = RandomWeights.input(2, 32, 48, 9), b = RandomWeights.input(2, 32, 48, 9);
        assertArrayEquals(new int[] {2, 3, 32, 48}, a.shape());
        assertArrayEquals(a.data(), b.data());
        assertFalse(Arrays.equals(a.data(), RandomWeights.input(2, 32, 48, 10).data()));
        double sum = 0, sumSq = 0;
        for (float f : a.data()) {
            sum += f;
            sumSq += (double) f * f;
        }
        int n = a.size();
        assertEquals(0, sum / n, 0.05);
        assertEquals(1, Math.sqrt(sumSq / n), 0.05);
    }

    // ---------------------------------------------------------------- Weights

    @Test
    void saveThenLoadGivesTheSameWeights() throws IOException {
        Weights w = RandomWeights.generate(SMALL, 11);
        Path p = dir.resolve("small.safetensors");
        w.save(p, Map.of("seed", "11"));
        assertSameWeights(w, Weights.load(p, SMALL));
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals("11", st.metadata().get("seed"));
            assertTrue(st.entries().values().stream().allMatch(e -> e.dtype() == DType.F32));
        }
    }

    @Test
    void getOfAnUnknownNameSaysSo() {
        Weights w = RandomWeights.generate(SMALL, 1);
        var e = assertThrows(IllegalArgumentException.class, () -> w.get("features.99.0.weight"));
        assertEquals("no weight named features.99.0.weight", e.getMessage());
    }

    @Test
    void weightsCopyTheMapAndAreUnmodifiable() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("a", Tensor.zeros(1));
        Weights w = new Weights(m);
        m.put("b", Tensor.zeros(1));
        assertEquals(List.of("a"), List.copyOf(w.asMap().keySet()));
        assertThrows(UnsupportedOperationException.class, () -> w.asMap().put("c", Tensor.zeros(1)));
    }

    @Test
    void checkFitsListsMissingUnexpectedAndMisShapedTensors() {
        Map<String, Tensor> m = new LinkedHashMap<>(RandomWeights.generate(SMALL, 1).asMap());
        m.remove("features.0.0.weight");
        m.put("features.1.block.0.1.bias", Tensor.zeros(15));
        m.put("extra", Tensor.zeros(2, 2));
        var e = assertThrows(WeightMismatchException.class, () -> new Weights(m).checkFits(SMALL));
        assertEquals(List.of("missing: features.0.0.weight [16,3,3,3]",
                "wrong shape: features.1.block.0.1.bias expected [16], found [15]",
                "unexpected: extra [2,2]"), e.problems());
        assertTrue(e.getMessage().startsWith("the weights do not fit small(width 1.0, 1000 classes): "
                + "1 missing, 1 unexpected, 1 wrong shape or type"), e.getMessage());
    }
}
