package dev.mnv3.cli.report;

import dev.mnv3.core.bench.BenchResults;
import dev.mnv3.core.bench.ReportDirectory;
import dev.mnv3.cpu.CpuInfo;
import dev.mnv3.cuda.CudaBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Map;

/**
 * Writes a benchmark report: results.json, results.csv and report.html. Nothing here names the
 * charting library, so the GPU kit's jar (which leaves it out, and whose JDK has no AWT) still
 * writes the results and says how to draw the page elsewhere.
 */
public final class Reports {
    private Reports() {
    }

    /** The machine: this CPU, and GPU {@code device} with its driver where {@code cuda} models ran. */
    public static Map<String, Object> machine(boolean cuda, int device) {
        CpuInfo cpu = CpuInfo.here();
        String gpu = null, driver = null;
        if (cuda) {
            try {
                CudaBackend.DeviceSummary summary = CudaBackend.deviceSummary(device);
                gpu = summary.gpu();
                driver = summary.driver();
            } catch (RuntimeException e) {
                // the device did not open: the measurements say why, the machine has no GPU to name
            }
        }
        return BenchResults.machine(cpu.model(), cpu.isa(), cpu.logical(), gpu, driver);
    }

    /** Writes the three files, or the two data files and a warning where the page cannot be drawn here. */
    public static void write(ReportDirectory dir, BenchResults results, PrintWriter err) throws IOException {
        String html;
        try {
            html = ReportPage.html(results);
        } catch (LinkageError e) {
            html = null;
        }
        dir.write(ReportDirectory.JSON, results.toJson());
        dir.write(ReportDirectory.CSV, results.toCsv());
        if (html != null) {
            dir.write(ReportDirectory.HTML, html);
        } else {
            err.println("mnv3: warning: " + ReportDirectory.HTML + " left out: this mnv3 has no charting library (the GPU kit); "
                    + "draw it elsewhere with 'mnv3 bench --report DIR --from " + dir.path().resolve(ReportDirectory.JSON) + "'");
        }
        err.println("mnv3: report written to " + dir.path() + " (" + (html != null ? String.join(", ", ReportDirectory.FILES)
                : ReportDirectory.JSON + ", " + ReportDirectory.CSV) + ")");
        err.flush();
    }
}
