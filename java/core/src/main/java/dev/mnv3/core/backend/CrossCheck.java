package dev.mnv3.core.backend;

import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.tensor.TensorDiff;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs two compiled models on the same input and compares every node's output: the way a
 * backend (CUDA, the fast CPU path) is proven equal to the CPU reference.
 */
public final class CrossCheck {
    /** Strict FP32 against the reference (docs/numerics.md). */
    public static final double FP32_TOLERANCE = 1e-5;

    private CrossCheck() {
    }

    public record NodeResult(String node, String shape, TensorDiff diff, boolean passed) {
    }

    public record Report(String candidate, String reference, double tolerance, List<NodeResult> nodes) {
        public boolean passed() {
            return nodes.stream().allMatch(NodeResult::passed);
        }

        public List<NodeResult> failures() {
            return nodes.stream().filter(n -> !n.passed()).toList();
        }

        /** One row per node: name, shape, max abs error, relative L2 error, pass/fail. */
        public String table() {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-16s %-18s %12s %12s  %s%n", "node", "shape",
                    "max abs err", "rel L2 err", "rel L2 <= " + tolerance));
            for (NodeResult n : nodes) {
                sb.append(String.format(Locale.ROOT, "%-16s %-18s %12.3e %12.3e  %s%n", n.node(), n.shape(), n.diff().maxAbs(),
                        n.diff().relL2(), n.passed() ? "pass" : "FAIL"));
            }
            long failed = nodes.stream().filter(n -> !n.passed()).count();
            sb.append(failed == 0 ? "all " + nodes.size() + " nodes pass: " + candidate + " matches " + reference
                    : failed + " of " + nodes.size() + " nodes FAIL: " + candidate + " differs from " + reference);
            nodes.stream().max(java.util.Comparator.comparingDouble(n -> Double.isNaN(n.diff().relL2())
                    ? Double.POSITIVE_INFINITY : n.diff().relL2())).ifPresent(n -> sb.append(String.format(Locale.ROOT,
                    " (worst rel L2 %.3e at %s)", n.diff().relL2(), n.node())));
            return sb.toString();
        }
    }

    public static Report compare(CompiledModel candidate, CompiledModel reference, Tensor input, double tolerance) {
        return compare(candidate, reference.backend(), reference.trace(input), input, tolerance);
    }

    /**
     * {@code candidate} on {@code input} against a reference trace made before (by the backend
     * called {@code referenceName}): one reference trace can serve several candidates.
     */
    public static Report compare(CompiledModel candidate, String referenceName, Map<String, Tensor> want, Tensor input,
                                 double tolerance) {
        Map<String, Tensor> got = candidate.trace(input);
        List<NodeResult> rows = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : want.entrySet()) {
            Tensor g = got.get(e.getKey());
            if (g == null) {
                throw new IllegalStateException(candidate.backend() + " did not trace node " + e.getKey());
            }
            TensorDiff d = TensorDiff.of(g, e.getValue());
            rows.add(new NodeResult(e.getKey(), e.getValue().shapeString(), d, d.within(tolerance)));
        }
        return new Report(candidate.backend(), referenceName, tolerance, rows);
    }
}
