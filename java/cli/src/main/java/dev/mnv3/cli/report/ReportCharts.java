package dev.mnv3.cli.report;

import dev.mnv3.core.bench.BenchResults;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.function.Function;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.StandardChartTheme;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.LineAndShapeRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * The report's charts, drawn by JFreeChart from the measurements that succeeded: images/s
 * against batch size, one line per backend and precision (and whatever else varies); p50/p99
 * latency against clients (against batch size where one client count was measured); and, where
 * the results hold more than one engine, every engine's images/s side by side.
 */
final class ReportCharts {
    /** One chart with the words around it on the page. */
    record Chart(String id, String caption, JFreeChart chart) {
    }

    /** Settings that tell lines apart, in the order a label names them. */
    private static final List<String> SERIES_FIELDS = List.of("engine", "model", "backend", "precision", "cuda_graphs", "cudnn",
            "vector_bits", "threads", "height", "width");

    /** Tableau's ten colours: told apart in print and by most colour-blind readers. */
    private static final Color[] PALETTE = {new Color(0x4E79A7), new Color(0xF28E2B), new Color(0xE15759), new Color(0x76B7B2),
            new Color(0x59A14F), new Color(0xEDC948), new Color(0xB07AA1), new Color(0xFF9DA7), new Color(0x9C755F),
            new Color(0xBAB0AC)};

    private static final BasicStroke SOLID = new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
    private static final BasicStroke DASHED = new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f,
            new float[] {7f, 5f}, 0f);

    private ReportCharts() {
    }

    static List<Chart> of(BenchResults results) {
        List<Map<String, Object>> ok = results.succeeded();
        List<Chart> charts = new ArrayList<>();
        if (ok.isEmpty()) return charts;
        Labels labels = new Labels(ok);
        charts.add(throughput(ok, labels));
        if (ok.stream().anyMatch(m -> m.get("p50_ms") != null)) charts.add(latency(ok, labels));
        if (results.engines().size() > 1) charts.add(engines(ok, labels));
        return charts;
    }

    /** Images/s against batch size. */
    private static Chart throughput(List<Map<String, Object>> ok, Labels labels) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (int batch : sorted(ok, m -> batch(m))) {
            for (Map<String, Object> m : ok) {
                if (batch(m) != batch) continue;
                String series = labels.of(m) + (labels.clientsVary ? ", " + clientsText(clients(m)) : "");
                data.addValue(number(m, "images_per_second"), series, Integer.valueOf(batch));
            }
        }
        JFreeChart chart = ChartFactory.createLineChart("Throughput", "batch size", "images/s", data,
                PlotOrientation.VERTICAL, true, false, false);
        lines(chart, data, s -> false);
        return new Chart("throughput", "Images per second against batch size" + (labels.clientsVary ? ", per client count" : "")
                + " (higher is better).", chart);
    }

    /** p50 (solid) and p99 (dashed, same colour) latency per batch against clients, or against batch size. */
    private static Chart latency(List<Map<String, Object>> ok, Labels labels) {
        boolean byClients = labels.clientsVary;
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        Function<Map<String, Object>, Integer> x = byClients ? ReportCharts::clients : ReportCharts::batch;
        for (int at : sorted(ok, x)) {
            for (Map<String, Object> m : ok) {
                if (x.apply(m) != at || m.get("p50_ms") == null) continue;
                String series = labels.of(m) + (byClients && labels.batchVaries ? ", batch " + batch(m) : "");
                data.addValue(number(m, "p50_ms"), series + " p50", Integer.valueOf(at));
                if (m.get("p99_ms") != null) data.addValue(number(m, "p99_ms"), series + " p99", Integer.valueOf(at));
            }
        }
        JFreeChart chart = ChartFactory.createLineChart("Latency per batch", byClients ? "clients" : "batch size", "ms",
                data, PlotOrientation.VERTICAL, true, false, false);
        lines(chart, data, s -> s.endsWith(" p99"));
        return new Chart("latency", "Latency of one batch, p50 (solid) and p99 (dashed), against "
                + (byClients ? "the number of clients calling at once" : "batch size") + " (lower is better).", chart);
    }

    /** Every engine's images/s side by side, grouped by what was measured. */
    private static Chart engines(List<Map<String, Object>> ok, Labels labels) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        boolean models = distinct(ok, m -> m.get("model")) > 1;
        for (Map<String, Object> m : ok) {
            String group = (models ? m.get("model") + ", " : "") + "batch " + batch(m)
                    + (labels.clientsVary ? ", " + clientsText(clients(m)) : "");
            data.addValue(number(m, "images_per_second"), labels.of(m), group);
        }
        JFreeChart chart = ChartFactory.createBarChart("Engines side by side", null, "images/s", data,
                PlotOrientation.VERTICAL, true, false, false);
        style(chart);
        BarRenderer r = (BarRenderer) chart.getCategoryPlot().getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setItemMargin(0.05);
        for (int s = 0; s < data.getRowCount(); s++) r.setSeriesPaint(s, PALETTE[s % PALETTE.length]);
        return new Chart("engines", "Images per second of each engine on the same work (higher is better).", chart);
    }

    private static void lines(JFreeChart chart, DefaultCategoryDataset data, java.util.function.Predicate<String> dashed) {
        style(chart);
        LineAndShapeRenderer r = (LineAndShapeRenderer) chart.getCategoryPlot().getRenderer();
        r.setDefaultShapesVisible(true);
        // a dashed series takes the colour of the solid one before it (p99 after p50)
        Map<String, Paint> paints = new LinkedHashMap<>();
        for (int s = 0; s < data.getRowCount(); s++) {
            String key = data.getRowKey(s).toString();
            boolean d = dashed.test(key);
            String base = d ? key.substring(0, key.lastIndexOf(' ')) : key.replaceFirst(" p50$", "");
            Paint paint = paints.computeIfAbsent(base, k -> PALETTE[paints.size() % PALETTE.length]);
            r.setSeriesPaint(s, paint);
            r.setSeriesStroke(s, d ? DASHED : SOLID);
        }
    }

    private static void style(JFreeChart chart) {
        StandardChartTheme theme = (StandardChartTheme) StandardChartTheme.createJFreeTheme();
        // logical fonts, which the SVG names as the browser's sans-serif, so text measured here fits there
        theme.setExtraLargeFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
        theme.setLargeFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        theme.setRegularFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        theme.setSmallFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        theme.apply(chart);
        chart.setBackgroundPaint(Color.WHITE);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(new Color(0xCCCCCC));
        plot.setOutlineVisible(false);
    }

    /** Series labels: backend (or engine) and precision always, and every other setting that differs between measurements. */
    private static final class Labels {
        final List<String> fields = new ArrayList<>();
        final boolean clientsVary, batchVaries;

        Labels(List<Map<String, Object>> ok) {
            for (String f : SERIES_FIELDS) {
                boolean always = f.equals("precision") || f.equals("backend")
                        || f.equals("engine") && ok.stream().noneMatch(m -> m.get("backend") != null);
                if (ok.stream().anyMatch(m -> m.get(f) != null) && (always || distinct(ok, m -> m.get(f)) > 1)) fields.add(f);
            }
            clientsVary = distinct(ok, ReportCharts::clients) > 1;
            batchVaries = distinct(ok, ReportCharts::batch) > 1;
        }

        String of(Map<String, Object> m) {
            List<String> parts = new ArrayList<>();
            for (String f : fields) {
                Object v = m.get(f);
                if (v == null) continue;
                parts.add(switch (f) {
                    case "cuda_graphs" -> Boolean.TRUE.equals(v) ? "CUDA graphs" : "no graphs";
                    case "cudnn" -> Boolean.TRUE.equals(v) ? "cuDNN" : "no cuDNN";
                    case "vector_bits" -> ((Number) v).intValue() == 0 ? "scalar" : BenchResults.cell(v) + "-bit";
                    case "threads" -> BenchResults.cell(v) + " threads";
                    case "height" -> BenchResults.cell(v) + (m.get("width") != null ? "x" + BenchResults.cell(m.get("width")) : "");
                    case "width" -> m.get("height") != null && fields.contains("height") ? null : "width " + BenchResults.cell(v);
                    default -> BenchResults.cell(v);
                });
            }
            parts.removeIf(Objects::isNull);
            // "onnxruntime: cpu fp32": the engine's name may have spaces of its own
            if (fields.contains("engine") && parts.size() > 1) parts.set(0, parts.get(0) + ":");
            return parts.isEmpty() ? "mnv3" : String.join(" ", parts);
        }
    }

    static int batch(Map<String, Object> m) {
        return ((Number) m.get("batch")).intValue();
    }

    static int clients(Map<String, Object> m) {
        return m.get("clients") instanceof Number n ? n.intValue() : 1;
    }

    static String clientsText(int clients) {
        return clients + (clients == 1 ? " client" : " clients");
    }

    private static double number(Map<String, Object> m, String key) {
        return ((Number) m.get(key)).doubleValue();
    }

    private static long distinct(List<Map<String, Object>> ms, Function<Map<String, Object>, Object> f) {
        return ms.stream().map(f).distinct().count();
    }

    private static TreeSet<Integer> sorted(List<Map<String, Object>> ms, Function<Map<String, Object>, Integer> f) {
        TreeSet<Integer> s = new TreeSet<>();
        for (Map<String, Object> m : ms) s.add(f.apply(m));
        return s;
    }
}
