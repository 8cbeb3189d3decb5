package dev.mnv3.core.weights;

import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.ParamSpec;
import java.util.ArrayList;
import java.util.List;

/** Weights that do not fit the chosen model; the message lists every missing, unexpected and mis-shaped tensor. */
public class WeightMismatchException extends IllegalArgumentException {
    private final List<String> problems;

    private WeightMismatchException(String message, List<String> problems) {
        super(message);
        this.problems = List.copyOf(problems);
    }

    /** One line per problem, e.g. {@code missing: features.1.block.0.0.weight [16,1,3,3]}. */
    public List<String> problems() {
        return problems;
    }

    /** Collects problems, then throws them all at once. */
    static final class Builder {
        private final Graph graph;
        private final String source;
        private final List<String> problems = new ArrayList<>();
        private int missing, unexpected, wrongShape;
        private final List<String> hints = new ArrayList<>();

        Builder(Graph graph, String source) {
            this.graph = graph;
            this.source = source;
        }

        void missing(ParamSpec p) {
            missing++;
            problems.add("missing: " + p);
        }

        void unexpected(String name, String shape) {
            unexpected++;
            problems.add("unexpected: " + name + " " + shape);
        }

        void wrongShape(ParamSpec p, String found) {
            wrongShape++;
            problems.add("wrong shape: " + p.name() + " expected " + ParamSpec.shapeString(p.shape()) + ", found " + found);
        }

        void problem(String line) {
            wrongShape++;
            problems.add(line);
        }

        boolean any() {
            return !problems.isEmpty();
        }

        /** Expected tensors that are missing or have the wrong shape or type. */
        int mismatched() {
            return missing + wrongShape;
        }

        /** One more line of advice after the problems; null adds nothing. */
        void hint(String h) {
            if (h != null) hints.add(h);
        }

        void throwIfAny() {
            if (problems.isEmpty()) return;
            List<String> counts = new ArrayList<>();
            if (missing > 0) counts.add(missing + " missing");
            if (unexpected > 0) counts.add(unexpected + " unexpected");
            if (wrongShape > 0) counts.add(wrongShape + " wrong shape or type");
            StringBuilder sb = new StringBuilder(source).append(" do not fit ").append(graph.config().describe())
                    .append(": ").append(String.join(", ", counts));
            for (String p : problems) sb.append("\n  ").append(p);
            for (String h : hints) sb.append("\n  hint: ").append(h);
            throw new WeightMismatchException(sb.toString(), problems);
        }
    }
}
