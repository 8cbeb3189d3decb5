package dev.mnv3.bench;

import dev.mnv3.core.bench.BenchResults;
import dev.mnv3.core.bench.ReportDirectory;
import dev.mnv3.core.bench.Throughput;
import dev.mnv3.cpu.CpuInfo;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ONNX Runtime comparison as results.json (and results.csv), the format of
 * {@code mnv3 bench --report}: per model and batch, one measurement per engine, its images/s the
 * median round's, its latency percentiles over every run of every round. compare-ort.sh then has
 * mnv3 draw report.html from it.
 */
final class OrtReport {
    private OrtReport() {
    }

    static void write(ReportDirectory dir, List<ComparisonTable.Row> rows, String ortVersion, int threads, double seconds,
                      List<String> args) throws IOException {
        CpuInfo cpu = CpuInfo.here();
        Map<String, Object> machine = BenchResults.machine(cpu.model(), cpu.isa(), cpu.logical(), null, null);
        machine.put("peer", "ONNX Runtime " + ortVersion);
        List<Map<String, Object>> ms = new ArrayList<>();
        for (ComparisonTable.Row r : rows) {
            ms.add(measurement("mnv3", r, r.ours(), threads, seconds));
            ms.add(measurement("onnxruntime", r, r.ort(), threads, seconds));
        }
        BenchResults results = BenchResults.of("mnv3 against ONNX Runtime", "benchmarks/compare-ort.sh " + String.join(" ", args),
                machine, ms);
        dir.write(ReportDirectory.JSON, results.toJson());
        dir.write(ReportDirectory.CSV, results.toCsv());
    }

    private static Map<String, Object> measurement(String engine, ComparisonTable.Row r, List<ComparisonTable.Round> rounds,
                                                   int threads, double seconds) {
        double[] perRound = ComparisonTable.Round.imagesPerSecond(rounds);
        double[] ms = rounds.stream().flatMapToDouble(x -> Arrays.stream(x.wallMs())).toArray();
        Throughput.Result all = Throughput.summarize(r.batch(), ms);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("engine", engine);
        m.put("model", r.model());
        m.put("backend", "cpu");
        m.put("precision", "fp32");
        m.put("batch", (long) r.batch());
        m.put("clients", 1L);
        m.put("threads", (long) threads);
        m.put("height", 224L);
        m.put("width", 224L);
        m.put("rounds", (long) rounds.size());
        m.put("seconds_per_round", seconds);
        m.put("images_per_second", ComparisonTable.median(perRound));
        m.put("images_per_second_min", ComparisonTable.min(perRound));
        m.put("images_per_second_max", ComparisonTable.max(perRound));
        m.put("p50_ms", all.p50Ms());
        m.put("p99_ms", all.p99Ms());
        m.put("logits_rel_l2", r.logitsRelL2());
        return m;
    }
}
