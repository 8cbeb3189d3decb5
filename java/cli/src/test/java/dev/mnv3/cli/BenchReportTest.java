package dev.mnv3.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.bench.BenchResults;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench --report}: the three files from a tiny run (small at 64x64, a hundredth of a second
 * per measurement), the same page drawn again from results.json with a peer engine added, and that
 * page looked at in headless Chromium: a screenshot with the charts' colours in it, and nothing in
 * the browser's console.
 */
class BenchReportTest {
    @TempDir
    Path tmp;

    private static Cli bench(Path report, String... extra) {
        List<String> args = new ArrayList<>(List.of("bench", "--model", "small", "--size", "64x64", "--backend", "cpu",
                "--threads", "1", "--seconds", "0.01", "--warmup", "0", "--report", report.toString()));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    @Test
    void reportHasEveryMeasurementTheMachineAndChartsAndABrowserShowsThem() throws Exception {
        Path dir = tmp.resolve("out");
        Cli r = bench(dir, "--sweep", "clients=1,2 batch=1,2");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.err().contains(" 4/4, ") && r.err().contains(" left"), "which measurement runs, and the time left: " + r.err());
        assertEquals(List.of("report.html", "results.csv", "results.json"), list(dir));

        BenchResults results = BenchResults.read(dir.resolve("results.json"));
        assertEquals(4, results.measurements().size(), "the sweep's batch 1,2 x clients 1,2");
        for (Map<String, Object> m : results.measurements()) {
            assertEquals("mnv3", m.get("engine"));
            assertEquals("cpu", m.get("backend"));
            assertTrue(((Number) m.get("images_per_second")).doubleValue() > 0, m.toString());
        }
        for (String key : List.of("cpu", "isa", "processors", "jdk", "mnv3_version", "git_commit", "gpu")) {
            assertTrue(results.machine().containsKey(key), key + " in " + results.machine());
        }
        assertTrue(results.command().startsWith("mnv3 bench --model small "), results.command());
        List<String> csv = List.of(Files.readString(dir.resolve("results.csv")).split("\r\n", -1));
        assertEquals(6, csv.size(), "a header, 4 rows, and the CRLF that ends the last: " + csv);
        assertTrue(csv.get(0).startsWith("engine,model,backend,precision,"), csv.get(0));
        String html = Files.readString(dir.resolve("report.html"));
        assertEquals(2, count(html, "<svg"), "throughput and latency");
        assertTrue(html.contains(">batch size</text>") && html.contains(" p50</text>"), "axis and legend text");
        String links = html.replaceAll("xmlns(:\\w+)?='http[^']*'", ""); // SVG's namespace names, which nothing loads
        assertFalse(links.contains("<script") || links.contains("http://") || links.contains("https://")
                || links.contains("src="), "nothing to load: the page stands alone");

        // a peer engine on the same work, as compare-ort.sh writes it: the page gains the side-by-side chart
        List<Map<String, Object>> all = new ArrayList<>(results.measurements());
        for (Map<String, Object> m : results.measurements()) {
            Map<String, Object> peer = new LinkedHashMap<>(m);
            peer.put("engine", "onnxruntime");
            peer.put("images_per_second", ((Number) m.get("images_per_second")).doubleValue() * 0.8);
            all.add(peer);
        }
        Path withPeer = Files.writeString(tmp.resolve("with-peer.json"),
                new BenchResults(results.title(), results.command(), results.created(), results.machine(), all).toJson());
        Path page = tmp.resolve("page");
        Cli again = Cli.run("bench", "--report", page.toString(), "--from", withPeer.toString());
        assertEquals(0, again.exitCode(), again.toString());
        String peerHtml = Files.readString(page.resolve("report.html"));
        assertEquals(3, count(peerHtml, "<svg"), "throughput, latency, engines side by side");
        assertTrue(peerHtml.contains("mnv3 against onnxruntime") && peerHtml.contains("<td>1.25</td>"), "the ratio 1/0.8");

        inBrowser(page.resolve("report.html"));
    }

    @Test
    void reportRefusesADirectoryWithOtherFilesAndWritesNothing() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("busy"));
        Files.writeString(dir.resolve("notes.txt"), "mine");
        Files.writeString(dir.resolve("report.html"), "old");
        BadInputTest.assertOneLineError(bench(dir), "the directory holds other files (notes.txt)");
        assertEquals("old", Files.readString(dir.resolve("report.html")), "nothing written");
        assertEquals(List.of("notes.txt", "report.html"), list(dir));

        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        BadInputTest.assertOneLineError(bench(file), "a-file: not a directory");
        BadInputTest.assertOneLineError(Cli.run("bench", "--from", file.toString()), "--from needs --report DIR");
        BadInputTest.assertOneLineError(Cli.run("bench", "--report", tmp.resolve("new").toString(), "--from", file.toString()),
                "a-file: invalid JSON at offset 0");
        Files.writeString(file, "{\"format\": \"mnv3-bench-results/1\", \"machine\": {}, \"measurements\": [{\"engine\": \"x\"}]}");
        BadInputTest.assertOneLineError(Cli.run("bench", "--report", tmp.resolve("new").toString(), "--from", file.toString()),
                "measurement 1: \"batch\" must be an integer, found null");
        assertFalse(Files.exists(tmp.resolve("new")), "no report from results that do not read");
    }

    /**
     * Opens the page in headless Chromium (skipped where it is not installed): the screenshot must
     * show the charts (pixels of the first two series' colours) and the console must stay silent
     * (the page has no script: any message there is a fault).
     */
    private void inBrowser(Path html) throws Exception {
        Path chromium = chromium();
        Assumptions.assumeTrue(chromium != null, "chromium is not installed (apt-get install chromium): report.html not opened in a browser");
        Path shots = Files.createDirectories(Path.of("target", "report-test"));
        Path png = shots.resolve("report.png"), log = tmp.resolve("chromium.log");
        Files.deleteIfExists(png);
        Process p = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + tmp.resolve("profile"), "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
                "--window-size=1000,1500", "--screenshot=" + png.toAbsolutePath(), html.toUri().toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish in 60 s: " + Files.readString(log));
        }
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), out);
        List<String> console = out.lines().filter(l -> l.contains(":CONSOLE")).toList();
        assertTrue(console.isEmpty(), "the browser's console: " + console);
        BufferedImage shot = ImageIO.read(png.toFile());
        assertEquals(1000, shot.getWidth());
        // the first chart starts below the machine table; its lines are the palette's first two colours
        assertTrue(pixels(shot, 0x4E79A7) > 300, "the first series' blue: " + pixels(shot, 0x4E79A7));
        assertTrue(pixels(shot, 0xF28E2B) > 300, "the second series' orange: " + pixels(shot, 0xF28E2B));
    }

    private static Path chromium() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String name : List.of("chromium", "chromium-browser")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) return p;
            }
        }
        return null;
    }

    /** Pixels within a little of {@code rgb}, antialiased edges aside. */
    private static int pixels(BufferedImage img, int rgb) {
        int n = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int c = img.getRGB(x, y);
                if (Math.abs((c >> 16 & 255) - (rgb >> 16 & 255)) + Math.abs((c >> 8 & 255) - (rgb >> 8 & 255))
                        + Math.abs((c & 255) - (rgb & 255)) < 12) n++;
            }
        }
        return n;
    }

    private static List<String> list(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }
}
