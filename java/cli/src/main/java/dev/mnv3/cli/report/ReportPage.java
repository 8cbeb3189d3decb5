package dev.mnv3.cli.report;

import dev.mnv3.core.bench.BenchResults;
import dev.mnv3.core.bench.ReportDirectory;
import java.awt.geom.Rectangle2D;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jfree.svg.SVGGraphics2D;
import org.jfree.svg.ViewBox;

/**
 * report.html: one page that needs nothing else to be viewed (no scripts, no network, the charts
 * inlined as SVG), with the machine, the charts, the engines' ratios and every measurement.
 */
final class ReportPage {
    static final int WIDTH = 900, HEIGHT = 460;

    private ReportPage() {
    }

    static String html(BenchResults r) {
        StringBuilder sb = new StringBuilder(64 * 1024);
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<link rel=\"icon\" href=\"data:,\">\n") // no request for a favicon
                .append("<title>").append(esc(r.title())).append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n")
                .append("<h1>").append(esc(r.title())).append("</h1>\n");
        if (!r.command().isEmpty()) sb.append("<p class=\"command\"><code>").append(esc(r.command())).append("</code></p>\n");
        if (!r.created().isEmpty()) sb.append("<p class=\"note\">Measured ").append(esc(r.created())).append("</p>\n");

        sb.append("<h2>Machine</h2>\n<table class=\"machine\">\n");
        for (Map.Entry<String, Object> e : r.machine().entrySet()) {
            sb.append("<tr><th>").append(esc(e.getKey())).append("</th><td>")
                    .append(e.getValue() != null ? esc(BenchResults.cell(e.getValue()))
                            // no GPU ran, or a fact (the commit, outside a checkout) that could not be found
                            : "<span class=\"none\">" + (e.getKey().startsWith("gpu") ? "none" : "unknown") + "</span>")
                    .append("</td></tr>\n");
        }
        sb.append("</table>\n");

        List<ReportCharts.Chart> charts = ReportCharts.of(r);
        sb.append("<h2>Charts</h2>\n");
        if (charts.isEmpty()) sb.append("<p>No measurement succeeded: nothing to draw.</p>\n");
        for (ReportCharts.Chart c : charts) {
            SVGGraphics2D g = new SVGGraphics2D(WIDTH, HEIGHT);
            g.setDefsKeyPrefix(c.id() + "-"); // the clip paths' ids, unique on a page of several charts
            c.chart().draw(g, new Rectangle2D.Double(0, 0, WIDTH, HEIGHT));
            sb.append("<figure class=\"chart\" id=\"").append(c.id()).append("\">\n")
                    .append(g.getSVGElement("chart-" + c.id(), true, new ViewBox(0, 0, WIDTH, HEIGHT), null, null))
                    .append("\n<figcaption>").append(esc(c.caption())).append("</figcaption>\n</figure>\n");
        }
        ratios(sb, r);
        measurements(sb, r);
        sb.append("<footer>Written by mnv3 from ").append(ReportDirectory.JSON).append(" (also as ").append(ReportDirectory.CSV)
                .append("); charts drawn with JFreeChart.</footer>\n</body>\n</html>\n");
        return sb.toString();
    }

    /** mnv3 against each other engine on the same work: the ratio of images per second. */
    private static void ratios(StringBuilder sb, BenchResults r) {
        List<String> engines = r.engines();
        if (engines.size() < 2 || !engines.contains("mnv3")) return;
        List<Map<String, Object>> ok = r.succeeded();
        sb.append("<h2>mnv3 against ").append(esc(String.join("; ", engines.stream().filter(e -> !e.equals("mnv3")).toList())))
                .append("</h2>\n<table class=\"data\">\n<tr><th>work</th><th>engine</th><th>mnv3 images/s</th><th>its images/s</th>")
                .append("<th>mnv3 / it</th></tr>\n");
        for (Map<String, Object> ours : ok) {
            if (!"mnv3".equals(ours.get("engine"))) continue;
            for (Map<String, Object> peer : ok) {
                if ("mnv3".equals(peer.get("engine")) || !sameWork(ours, peer)) continue;
                double a = ((Number) ours.get("images_per_second")).doubleValue(), b = ((Number) peer.get("images_per_second")).doubleValue();
                sb.append("<tr><td>").append(esc(work(ours))).append("</td><td>").append(esc((String) peer.get("engine")))
                        .append("</td><td>").append(fmt(a)).append("</td><td>").append(fmt(b)).append("</td><td>")
                        .append(b > 0 ? String.format(Locale.ROOT, "%.2f", a / b) : "-").append("</td></tr>\n");
            }
        }
        sb.append("</table>\n");
    }

    /** The same model, batch, clients, precision and input size. */
    private static boolean sameWork(Map<String, Object> a, Map<String, Object> b) {
        for (String k : List.of("model", "batch", "clients", "precision", "height", "width")) {
            if (a.get(k) != null && b.get(k) != null && !BenchResults.cell(a.get(k)).equals(BenchResults.cell(b.get(k)))) return false;
        }
        return true;
    }

    private static String work(Map<String, Object> m) {
        return (m.get("model") != null ? m.get("model") + ", " : "") + "batch " + ReportCharts.batch(m)
                + (m.get("clients") != null ? ", " + ReportCharts.clientsText(ReportCharts.clients(m)) : "");
    }

    private static void measurements(StringBuilder sb, BenchResults r) {
        Set<String> columns = new LinkedHashSet<>();
        for (Map<String, Object> m : r.measurements()) columns.addAll(m.keySet());
        sb.append("<h2>Measurements</h2>\n<table class=\"data\">\n<tr>");
        for (String c : columns) sb.append("<th>").append(esc(c)).append("</th>");
        sb.append("</tr>\n");
        for (Map<String, Object> m : r.measurements()) {
            sb.append(m.get("error") != null ? "<tr class=\"failed\">" : "<tr>");
            for (String c : columns) sb.append("<td>").append(esc(BenchResults.cell(m.get(c)))).append("</td>");
            sb.append("</tr>\n");
        }
        sb.append("</table>\n");
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String esc(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    private static final String CSS = """
            body { font-family: sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
            h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
            code { background: #f3f3f3; padding: 0.1em 0.3em; }
            .note, figcaption, footer { color: #555; font-size: 0.9em; }
            table { border-collapse: collapse; font-size: 0.85em; }
            th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; }
            table.data { display: block; overflow-x: auto; }
            tr.failed td { color: #a00; }
            .none { color: #999; }
            figure.chart { margin: 1em 0; }
            figure.chart svg { max-width: 100%; height: auto; }
            footer { margin-top: 2em; }
            """;
}
