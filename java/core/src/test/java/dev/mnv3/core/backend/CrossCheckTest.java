package dev.mnv3.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CrossCheckTest {
    private static final Graph GRAPH = Graph.of(MobileNetV3Config.small());
    private static final Tensor INPUT = Tensor.zeros(1, 3, 32, 32);

    /** A backend stand-in whose trace is fixed, whatever the input. */
    private record FakeModel(String backend, Map<String, Tensor> fixedTrace) implements CompiledModel {
        @Override
        public Graph graph() {
            return GRAPH;
        }

        @Override
        public Tensor run(Tensor input) {
            return fixedTrace.get(GRAPH.outputNode());
        }

        @Override
        public Map<String, Tensor> trace(Tensor input) {
            return fixedTrace;
        }

        @Override
        public void close() {
        }
    }

    private static Tensor t(float... v) {
        return new Tensor(new int[] {1, v.length}, v);
    }

    private static Map<String, Tensor> trace(Tensor a, Tensor b) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("features.0", a);
        m.put("classifier.3", b);
        return m;
    }

    private static final FakeModel REFERENCE = new FakeModel("reference", trace(t(1, 2, 3, 4), t(10, -10)));

    @Test
    void identicalTracesPass() {
        CrossCheck.Report r = CrossCheck.compare(new FakeModel("fast", trace(t(1, 2, 3, 4), t(10, -10))), REFERENCE, INPUT, 1e-5);
        assertTrue(r.passed());
        assertTrue(r.failures().isEmpty());
        assertEquals(List.of("features.0", "classifier.3"), r.nodes().stream().map(CrossCheck.NodeResult::node).toList());
        assertEquals("fast", r.candidate());
        assertEquals("reference", r.reference());
        assertTrue(r.table().contains("all 2 nodes pass: fast matches reference (worst rel L2 "), r.table());
    }

    @Test
    void oneDifferingNodeFailsTheReportAndIsNamed() {
        // classifier.3: diff (0, 1) over ||(10, -10)|| = 1 / sqrt(200)
        CrossCheck.Report r = CrossCheck.compare(new FakeModel("cuda", trace(t(1, 2, 3, 4), t(10, -9))), REFERENCE, INPUT, 1e-2);
        assertFalse(r.passed());
        assertEquals(1, r.failures().size());
        CrossCheck.NodeResult f = r.failures().getFirst();
        assertEquals("classifier.3", f.node());
        assertEquals("[1,2]", f.shape());
        assertEquals(1 / Math.sqrt(200), f.diff().relL2(), 1e-12);
        assertEquals(1, f.diff().maxAbs());
        assertTrue(r.nodes().getFirst().passed());
    }

    @Test
    void tableHasAHeaderARowPerNodeAndASummary() {
        CrossCheck.Report r = CrossCheck.compare(new FakeModel("cuda", trace(t(1, 2, 3, 4), t(10, -9))), REFERENCE, INPUT, 1e-2);
        List<String> lines = r.table().lines().toList();
        assertEquals(4, lines.size(), r.table());
        assertTrue(lines.get(0).startsWith("node") && lines.get(0).contains("max abs err") && lines.get(0).contains("rel L2 <= 0.01"),
                lines.get(0));
        assertTrue(lines.get(1).startsWith("features.0") && lines.get(1).contains("[1,4]") && lines.get(1).endsWith("pass"), lines.get(1));
        assertTrue(lines.get(2).startsWith("classifier.3") && lines.get(2).contains("1.000e+00")
                && lines.get(2).contains("7.071e-02") && lines.get(2).endsWith("FAIL"), lines.get(2));
        assertEquals("1 of 2 nodes FAIL: cuda differs from reference (worst rel L2 7.071e-02 at classifier.3)", lines.get(3));
    }

    @Test
    void toleranceDecidesPassOrFail() {
        FakeModel close = new FakeModel("fast", trace(t(1, 2, 3, 4.0001f), t(10, -10)));
        assertTrue(CrossCheck.compare(close, REFERENCE, INPUT, 1e-4).passed());
        assertFalse(CrossCheck.compare(close, REFERENCE, INPUT, 1e-6).passed());
    }

    @Test
    void nanOutputFails() {
        FakeModel nan = new FakeModel("poisoned", trace(t(1, 2, Float.NaN, 4), t(10, -10)));
        CrossCheck.Report r = CrossCheck.compare(nan, REFERENCE, INPUT, 1);
        assertFalse(r.passed());
        assertTrue(r.table().contains("NaN"), r.table());
    }

    @Test
    void nodeMissingFromTheCandidateIsAnError() {
        Map<String, Tensor> partial = new LinkedHashMap<>();
        partial.put("features.0", t(1, 2, 3, 4));
        var e = assertThrows(IllegalStateException.class,
                () -> CrossCheck.compare(new FakeModel("cuda", partial), REFERENCE, INPUT, 1e-5));
        assertEquals("cuda did not trace node classifier.3", e.getMessage());
    }

    @Test
    void shapeMismatchIsAnError() {
        FakeModel wrong = new FakeModel("cuda", trace(new Tensor(new int[] {4, 1}, new float[] {1, 2, 3, 4}), t(10, -10)));
        assertThrows(IllegalArgumentException.class, () -> CrossCheck.compare(wrong, REFERENCE, INPUT, 1e-5));
    }

    @Test
    void featuresDefaultPicksTheFeatureLevelNodesFromTheTrace() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (var n : GRAPH.nodes()) m.put(n.name(), Tensor.zeros(1, n.name().length()));
        List<Tensor> features = new FakeModel("x", m).features(INPUT);
        List<FeatureLevel> levels = GRAPH.featureLevels();
        assertEquals(levels.size(), features.size());
        for (int i = 0; i < levels.size(); i++) assertEquals(m.get(levels.get(i).node()), features.get(i));
    }
}
