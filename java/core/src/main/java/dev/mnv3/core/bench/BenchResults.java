package dev.mnv3.core.bench;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.mnv3.core.Json;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One benchmark run as {@code results.json}: what ran where (the machine), and every measurement
 * with its settings. {@code mnv3 bench --report}, the ONNX Runtime comparison and the other
 * harnesses write this one format, so that {@code mnv3 bench --report DIR --from results.json}
 * draws the same page for all of them (the format: docs/benchmark-report.md).
 *
 * <p>A measurement is a flat JSON object: {@code engine} (mnv3 or the peer's name) and
 * {@code batch} always; {@code images_per_second}, or {@code error} for one that failed; optionally
 * {@code clients} (1 when absent), {@code p50_ms}, {@code p99_ms} and any settings
 * ({@code model}, {@code backend}, {@code precision}, ...) as strings, numbers or booleans.
 */
public record BenchResults(String title, String command, String created, Map<String, Object> machine,
                           List<Map<String, Object>> measurements) {
    /** The value of {@code format}, which a reader checks before anything else. */
    public static final String FORMAT = "mnv3-bench-results/1";

    public BenchResults {
        machine = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(machine));
        measurements = List.copyOf(measurements);
    }

    /** Results made now. */
    public static BenchResults of(String title, String command, Map<String, Object> machine, List<Map<String, Object>> measurements) {
        return new BenchResults(title, command, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), machine, measurements);
    }

    /**
     * The machine as a report names it: the CPU (model, vector ISA, processors), the GPU and its
     * driver where one ran (else null), the JDK and OS, mnv3's version and the git commit it was
     * built from (null where unknown).
     */
    public static Map<String, Object> machine(String cpu, String isa, int processors, String gpu, String driver) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", cpu);
        m.put("isa", isa);
        m.put("processors", (long) processors);
        m.put("gpu", gpu);
        m.put("gpu_driver", driver);
        m.put("jdk", System.getProperty("java.vm.vendor") + " " + Runtime.version());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        String version = BenchResults.class.getPackage().getImplementationVersion();
        m.put("mnv3_version", version != null ? version : "development build");
        m.put("git_commit", gitCommit());
        return m;
    }

    /**
     * The commit of the checkout this code was loaded from, with "-dirty" when tracked files
     * differ from it; null outside a git checkout or without git.
     */
    static String gitCommit() {
        try {
            var source = BenchResults.class.getProtectionDomain().getCodeSource();
            if (source == null) return null;
            Path dir = Path.of(source.getLocation().toURI());
            if (!Files.isDirectory(dir)) dir = dir.getParent();
            String head = git(dir, "rev-parse", "HEAD");
            if (head == null || head.isEmpty()) return null;
            String changes = git(dir, "status", "--porcelain", "--untracked-files=no");
            return head + (changes == null || changes.isEmpty() ? "" : "-dirty");
        } catch (Exception e) {
            return null; // not in a checkout, or no git: the report says "unknown"
        }
    }

    private static String git(Path dir, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("git", "-C", dir.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroy();
            return null;
        }
        return p.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8).strip() : null;
    }

    /** The measurements that succeeded (those with images per second, without an error). */
    public List<Map<String, Object>> succeeded() {
        return measurements.stream().filter(m -> m.get("error") == null && m.get("images_per_second") != null).toList();
    }

    /** The engines measured, in order of appearance. */
    public List<String> engines() {
        return measurements.stream().map(m -> (String) m.get("engine")).distinct().toList();
    }

    /** results.json: pretty-printed, in the order written. */
    public String toJson() {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = Json.factory().createGenerator(out)) {
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeStringField("format", FORMAT);
            g.writeStringField("title", title);
            g.writeStringField("command", command);
            g.writeStringField("created", created);
            g.writeFieldName("machine");
            write(g, machine);
            g.writeArrayFieldStart("measurements");
            for (Map<String, Object> m : measurements) write(g, m);
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.append('\n').toString();
    }

    private static void write(JsonGenerator g, Map<String, Object> object) throws IOException {
        g.writeStartObject();
        for (Map.Entry<String, Object> e : object.entrySet()) {
            g.writeFieldName(e.getKey());
            switch (e.getValue()) {
                case null -> g.writeNull();
                case String s -> g.writeString(s);
                case Boolean b -> g.writeBoolean(b);
                case Long l -> g.writeNumber(l);
                case Integer i -> g.writeNumber(i);
                case Double d when Double.isFinite(d) -> g.writeNumber(d);
                case Double d -> g.writeNull(); // JSON has no NaN or infinity
                default -> g.writeString(String.valueOf(e.getValue()));
            }
        }
        g.writeEndObject();
    }

    /**
     * results.csv (RFC 4180): a header of every field any measurement has, in order of first
     * appearance, then a row per measurement; an absent field is empty; lines end in CRLF.
     */
    public String toCsv() {
        Set<String> columns = new LinkedHashSet<>();
        for (Map<String, Object> m : measurements) columns.addAll(m.keySet());
        StringBuilder sb = new StringBuilder();
        row(sb, new ArrayList<>(columns));
        for (Map<String, Object> m : measurements) {
            List<String> cells = new ArrayList<>();
            for (String c : columns) cells.add(cell(m.get(c)));
            row(sb, cells);
        }
        return sb.toString();
    }

    /** A value as a report shows it: numbers without a trailing ".0", null as empty. */
    public static String cell(Object v) {
        return switch (v) {
            case null -> "";
            case Double d when d == Math.rint(d) && Math.abs(d) < 1e15 -> Long.toString(d.longValue());
            case Double d -> String.format(Locale.ROOT, "%s", d);
            default -> String.valueOf(v);
        };
    }

    private static void row(StringBuilder sb, List<String> cells) {
        for (int i = 0; i < cells.size(); i++) {
            if (i > 0) sb.append(',');
            String c = cells.get(i);
            if (c.indexOf(',') >= 0 || c.indexOf('"') >= 0 || c.indexOf('\n') >= 0 || c.indexOf('\r') >= 0) {
                sb.append('"').append(c.replace("\"", "\"\"")).append('"');
            } else {
                sb.append(c);
            }
        }
        sb.append("\r\n");
    }

    /** Reads results.json; errors are one line naming the file and what is wrong. */
    public static BenchResults read(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        try {
            return parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parses and checks results.json's text. */
    public static BenchResults parse(String text) {
        Map<String, Object> top = Json.object(Json.parse(text), "the results");
        Object format = top.get("format");
        if (!FORMAT.equals(format)) {
            throw new IllegalArgumentException("not mnv3 benchmark results: \"format\" must be \"" + FORMAT + "\", found "
                    + (format instanceof String s ? Json.quote(s) : String.valueOf(format)));
        }
        Json.checkKeys(top, "the results", "format", "title", "command", "created", "machine", "measurements");
        Map<String, Object> machine = Json.object(top.get("machine"), "\"machine\"");
        List<Map<String, Object>> measurements = new ArrayList<>();
        List<Object> list = Json.array(top.get("measurements"), "\"measurements\"");
        for (int i = 0; i < list.size(); i++) measurements.add(checked(list.get(i), "measurement " + (i + 1)));
        return new BenchResults(optionalString(top, "title", "benchmark"), optionalString(top, "command", ""),
                optionalString(top, "created", ""), machine, measurements);
    }

    private static String optionalString(Map<String, Object> m, String key, String absent) {
        Object v = m.get(key);
        return v == null ? absent : Json.string(v, "\"" + key + "\"");
    }

    private static Map<String, Object> checked(Object v, String what) {
        Map<String, Object> m = Json.object(v, what);
        Json.string(m.get("engine"), what + ": \"engine\"");
        if (Json.intValue(m.get("batch"), what + ": \"batch\"") < 1) throw new IllegalArgumentException(what + ": \"batch\" must be at least 1");
        if (m.containsKey("clients") && Json.intValue(m.get("clients"), what + ": \"clients\"") < 1) {
            throw new IllegalArgumentException(what + ": \"clients\" must be at least 1");
        }
        if (m.get("error") != null) {
            Json.string(m.get("error"), what + ": \"error\"");
        } else if (!(Json.doubleValue(m.get("images_per_second"), what + ": \"images_per_second\"") >= 0)) {
            throw new IllegalArgumentException(what + ": \"images_per_second\" must not be negative");
        }
        for (String key : List.of("p50_ms", "p99_ms")) {
            if (m.get(key) != null) Json.doubleValue(m.get(key), what + ": \"" + key + "\"");
        }
        for (Map.Entry<String, Object> e : m.entrySet()) {
            if (e.getValue() instanceof Map || e.getValue() instanceof List) {
                throw new IllegalArgumentException(what + ": \"" + e.getKey() + "\" must be a string, number, boolean or null");
            }
        }
        return m;
    }
}
