package dev.mnv3.bench;

import dev.mnv3.core.bench.Warmup;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The rounds of the ONNX Runtime comparison and how they are printed: each row's line of rounds as
 * it finishes, then the table of all rows.
 */
final class ComparisonTable {
    private ComparisonTable() {
    }

    /**
     * One engine's runs in one round: wall and calling-thread CPU milliseconds per run, the Java heap
     * its JVM allocated per run (KB, every thread), and the warm-up before them (null where an
     * earlier round in the same JVM warmed the engine up).
     */
    record Round(double[] wallMs, double cpuMs, double heapKbPerRun, int batch, Warmup.Outcome warmup) {
        double imagesPerSecond() {
            return batch * wallMs.length / (Arrays.stream(wallMs).sum() / 1e3);
        }

        double cpuMsPerImage() {
            return cpuMs / (batch * wallMs.length);
        }

        static double[] imagesPerSecond(List<Round> rounds) {
            return rounds.stream().mapToDouble(Round::imagesPerSecond).toArray();
        }
    }

    record Row(String model, int batch, List<Round> ours, List<Round> ort, double logitsRelL2) {
        /** ours/ORT images per second, one per round. */
        double[] ratios() {
            double[] r = new double[ours.size()];
            for (int i = 0; i < r.length; i++) r[i] = ours.get(i).imagesPerSecond() / ort.get(i).imagesPerSecond();
            return r;
        }

        /** ORT's CPU time per image over ours, one per round: > 1 means ours needs less CPU. */
        double[] cpuRatios() {
            double[] r = new double[ours.size()];
            for (int i = 0; i < r.length; i++) r[i] = ort.get(i).cpuMsPerImage() / ours.get(i).cpuMsPerImage();
            return r;
        }

        /** How long the warm-ups of these rounds took, e.g. "4.5" or "3.9-4.6", "(cap)" where one was not steady by the cap. */
        static String warmups(List<Round> rounds) {
            double[] s = rounds.stream().filter(r -> r.warmup() != null).mapToDouble(r -> r.warmup().seconds()).toArray();
            boolean cap = rounds.stream().anyMatch(r -> r.warmup() != null && r.warmup().how().equals("cap"));
            String range = String.format(Locale.ROOT, "%.1f", min(s)), hi = String.format(Locale.ROOT, "%.1f", max(s));
            return (range.equals(hi) ? range : range + "-" + hi) + (cap ? " (cap)" : "");
        }
    }

    /**
     * Each round's ratio and both engines' images per second (an outlier round says which side moved), and our heap
     * allocation per run: a JVM whose C2 left some kernel's vector operations as the Vector API's Java fallback
     * allocates megabytes per run where the others allocate kilobytes.
     */
    static String roundLine(Row r) {
        return String.format(Locale.ROOT, "  %s batch %d: ours/ORT per round %s (img/s ours %s, ORT %s; ours' heap KB per run %s)",
                r.model(), r.batch(), list(r.ratios(), "%.2f"), list(Round.imagesPerSecond(r.ours()), "%.0f"),
                list(Round.imagesPerSecond(r.ort()), "%.0f"), list(r.ours().stream().mapToDouble(Round::heapKbPerRun).toArray(), "%.0f"));
    }

    /** The table of all rows; {@code cpu} adds the CPU-time ratios (one thread), {@code processes} says how warm-ups read. */
    static void print(List<Row> rows, String isa, boolean cpu, boolean processes) {
        System.out.println();
        System.out.println("| model | batch | ours ISA | mnv3 img/s | ORT img/s | ours/ORT median | min | max |"
                + (cpu ? " CPU-time ratio median | min | max |" : "") + " warm-up s, ours / ORT | logits rel L2 |");
        System.out.println("|---|---|---|---|---|---|---|---|" + (cpu ? "---|---|---|" : "") + "---|---|");
        for (Row r : rows) {
            double[] q = r.ratios();
            System.out.printf(Locale.ROOT, "| %s | %d | %s | %.1f | %.1f | %.2f | %.2f | %.2f |", r.model(), r.batch(), isa,
                    median(Round.imagesPerSecond(r.ours())), median(Round.imagesPerSecond(r.ort())), median(q), min(q), max(q));
            if (cpu) {
                double[] c = r.cpuRatios();
                System.out.printf(Locale.ROOT, " %.2f | %.2f | %.2f |", median(c), min(c), max(c));
            }
            System.out.printf(Locale.ROOT, " %s / %s | %.1e |%n", Row.warmups(r.ours()), Row.warmups(r.ort()), r.logitsRelL2());
        }
        System.out.println("img/s: the median round; ours/ORT: over the rounds, each round's images per second"
                + (cpu ? "; CPU-time ratio: ORT's CPU time per image / ours (the calling thread's)" : "")
                + (processes ? "; warm-up: the least-most over the rounds' JVMs" : ""));
    }

    static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double min(double[] x) {
        return Arrays.stream(x).min().orElseThrow();
    }

    static double max(double[] x) {
        return Arrays.stream(x).max().orElseThrow();
    }

    private static String list(double[] x, String format) {
        StringBuilder sb = new StringBuilder();
        for (double v : x) sb.append(sb.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, format, v));
        return sb.toString();
    }
}
