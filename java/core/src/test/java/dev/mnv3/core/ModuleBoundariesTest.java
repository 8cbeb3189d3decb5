package dev.mnv3.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The boundaries between the modules, checked on the sources (the tests and the shaded jars run on
 * the class path, where the module system enforces none of them): core uses no module above it
 * and its image pipeline no model; no module reaches into another's unexported packages (for a
 * module on the class path, such as spark, this is the only check); every {@code Subcommand} is
 * registered for {@link java.util.ServiceLoader}; and the modules lacking a module-info are the
 * known ones. Each rule is shown to fail on a planted violation.
 */
class ModuleBoundariesTest {
    private static final Path ROOT = Path.of("../..").toAbsolutePath().normalize();
    /** A use of another package: an import or a qualified name, in code (comments and strings removed). */
    private static final Pattern REFERENCE = Pattern.compile("\\bdev\\.mnv3\\.((?:[a-z]\\w*\\.)*[a-z]\\w*)\\.[A-Z]");
    /**
     * Modules without a module-info, and why: benchmarks is a tool and examples/classify a project
     * of its own (examples/run.sh runs it against the modules on the module path); spark needs
     * Spark's jars, whose automatic module names (spark.sql.2.13) javac rejects, so it stays on the
     * class path and {@link #noModuleUsesAnotherModulesUnexportedPackages} is its boundary.
     */
    static final Set<String> WITHOUT_DESCRIPTOR = Set.of("benchmarks", "examples/classify", "java/spark");
    /** The packages of core's image pipeline and what lies below it: they know no model, backend or benchmark. */
    static final Set<String> BELOW_MODELS = Set.of("dev.mnv3.core.image", "dev.mnv3.core.io", "dev.mnv3.core.tensor");
    static final Set<String> MODEL_PACKAGES = Set.of("dev.mnv3.core.backend", "dev.mnv3.core.bench");
    /** A module's directory, its name (null without a module-info), its packages and the packages it exports. */
    record Module(String dir, String name, Set<String> packages, Set<String> exported) {
    }

    /** A main source: its module's directory, package, and the packages it uses. */
    record Source(String module, String path, String pkg, Set<String> uses) {
    }

    @Test
    void coreUsesNoModuleAboveItAndItsImagePipelineNoModel() throws IOException {
        assertEquals(List.of(), coreViolations(sources()));
    }

    @Test
    void aPlantedUpwardUseInCoreIsFound() throws IOException {
        List<Source> all = new ArrayList<>(sources());
        all.add(new Source("java/core", "PlantedA.java", "dev.mnv3.core.image", Set.of("dev.mnv3.core.backend")));
        all.add(new Source("java/core", "PlantedB.java", "dev.mnv3.core.weights", Set.of("dev.mnv3.api")));
        assertEquals(2, coreViolations(all).size(), coreViolations(all).toString());
    }

    @Test
    void noModuleUsesAnotherModulesUnexportedPackages() throws IOException {
        assertEquals(List.of(), unexportedUses(modules(), sources()));
    }

    @Test
    void aPlantedUseOfAnUnexportedPackageIsFound() throws IOException {
        List<Source> all = new ArrayList<>(sources());
        all.add(new Source("java/spark", "Planted.java", "dev.mnv3.spark", Set.of("dev.mnv3.cpu.fast")));
        assertEquals(List.of("Planted.java (java/spark) uses dev.mnv3.cpu.fast, which java/cpu does not export"),
                unexportedUses(modules(), all));
    }

    @Test
    void everySubcommandIsRegisteredForTheServiceLoader() throws IOException {
        assertEquals(List.of(), unregisteredSubcommands(modules()));
    }

    @Test
    void theModulesWithoutADescriptorAreTheKnownOnes() throws IOException {
        Set<String> without = new TreeSet<>();
        for (Module m : modules().values()) if (m.name() == null) without.add(m.dir());
        assertEquals(new TreeSet<>(WITHOUT_DESCRIPTOR), without);
    }

    static List<String> coreViolations(List<Source> sources) {
        List<String> out = new ArrayList<>();
        for (Source s : sources) {
            if (!s.module().equals("java/core")) continue;
            for (String used : s.uses()) {
                if (!used.startsWith("dev.mnv3.core")) out.add(s.path() + " uses " + used + ", above core");
                else if (BELOW_MODELS.contains(s.pkg()) && MODEL_PACKAGES.contains(used)) out.add(s.path() + " (" + s.pkg() + ") uses " + used);
            }
        }
        return out;
    }

    static List<String> unexportedUses(Map<String, Module> modules, List<Source> sources) {
        Map<String, Module> owner = new TreeMap<>();
        for (Module m : modules.values()) for (String p : m.packages()) owner.put(p, m);
        List<String> out = new ArrayList<>();
        for (Source s : sources) {
            for (String used : s.uses()) {
                Module m = owner.get(used);
                if (m == null || m.dir().equals(s.module()) || m.name() == null || m.exported().contains(used)) continue;
                out.add(s.path() + " (" + s.module() + ") uses " + used + ", which " + m.dir() + " does not export");
            }
        }
        return out;
    }

    /** Each class that implements Subcommand, missing from its jar's services file or from its module-info's provides. */
    static List<String> unregisteredSubcommands(Map<String, Module> modules) throws IOException {
        List<String> out = new ArrayList<>();
        Pattern implementsSubcommand = Pattern.compile("\\bclass\\s+(\\w+)[^{]*\\bimplements\\b[^{]*\\bSubcommand\\b");
        int found = 0;
        for (Module m : modules.values()) {
            Path main = ROOT.resolve(m.dir()).resolve("src/main");
            Path services = main.resolve("resources/META-INF/services/dev.mnv3.cli.Subcommand");
            Set<String> listed = Files.exists(services) ? new TreeSet<>(Files.readAllLines(services).stream().map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList()) : Set.of();
            Path info = main.resolve("java/module-info.java");
            String descriptor = Files.exists(info) ? code(Files.readString(info)).replaceAll("\\s+", " ") : null;
            try (Stream<Path> all = Files.walk(main.resolve("java"))) {
                for (Path p : all.filter(f -> f.toString().endsWith(".java")).toList()) {
                    Matcher c = implementsSubcommand.matcher(code(Files.readString(p)));
                    if (!c.find()) continue;
                    found++;
                    String pkg = packageOf(Files.readString(p));
                    String type = pkg + "." + c.group(1);
                    if (!listed.contains(type)) out.add(type + " is not in " + ROOT.relativize(services));
                    if (descriptor != null && !Pattern.compile("provides dev\\.mnv3\\.cli\\.Subcommand with [^;]*\\b"
                            + Pattern.quote(type) + "\\b").matcher(descriptor).find()) {
                        out.add(type + " is not provided in " + ROOT.relativize(info));
                    }
                }
            }
        }
        assertTrue(found >= 2, "found " + found + " subcommands (serve and batch at least)");
        return out;
    }

    /** The modules (directories with main sources), by directory. */
    static Map<String, Module> modules() throws IOException {
        Map<String, Set<String>> packages = SplitPackagesTest.modulesByPackage();
        Map<String, Module> out = new LinkedHashMap<>();
        Map<String, Set<String>> byModule = new TreeMap<>();
        packages.forEach((pkg, dirs) -> dirs.forEach(d -> byModule.computeIfAbsent(d, k -> new TreeSet<>()).add(pkg)));
        for (Map.Entry<String, Set<String>> e : byModule.entrySet()) {
            Path info = ROOT.resolve(e.getKey()).resolve("src/main/java/module-info.java");
            String name = null;
            Set<String> exported = new TreeSet<>();
            if (Files.exists(info)) {
                String d = code(Files.readString(info));
                Matcher n = Pattern.compile("\\bmodule\\s+([\\w.]+)").matcher(d);
                assertTrue(n.find(), info.toString());
                name = n.group(1);
                Matcher x = Pattern.compile("\\bexports\\s+([\\w.]+)\\s*;").matcher(d); // qualified exports count as unexported
                while (x.find()) exported.add(x.group(1));
            }
            out.put(e.getKey(), new Module(e.getKey(), name, e.getValue(), exported));
        }
        return out;
    }

    /** Every main source with the dev.mnv3 packages it uses besides its own. */
    static List<Source> sources() throws IOException {
        List<Source> out = new ArrayList<>();
        try (Stream<Path> all = Files.walk(ROOT)) {
            for (Path p : all.filter(ModuleBoundariesTest::isMainSource).toList()) {
                String rel = ROOT.relativize(p).toString().replace('\\', '/');
                String text = Files.readString(p);
                String pkg = packageOf(text);
                Set<String> uses = new TreeSet<>();
                Matcher m = REFERENCE.matcher(code(text).replaceFirst("(?m)^package [\\w.]+;", ""));
                while (m.find()) {
                    String used = "dev.mnv3." + m.group(1);
                    if (!used.equals(pkg)) uses.add(used);
                }
                out.add(new Source(rel.substring(0, rel.indexOf("/src/main/java/")), rel, pkg, uses));
            }
        }
        assertTrue(out.size() > 100, "found only " + out.size() + " main sources under " + ROOT);
        return out;
    }

    private static String packageOf(String source) {
        Matcher m = Pattern.compile("(?m)^package\\s+([\\w.]+);").matcher(source);
        return m.find() ? m.group(1) : "";
    }

    private static boolean isMainSource(Path p) {
        String rel = ROOT.relativize(p).toString().replace('\\', '/');
        return rel.endsWith(".java") && !rel.endsWith("module-info.java") && rel.contains("/src/main/java/") && !rel.contains("/target/")
                && !rel.startsWith(".");
    }

    /** Comments, text blocks, strings and char literals, in one pass (a "//" inside a string is no comment). */
    private static final Pattern NOT_CODE = Pattern.compile("(?s)/\\*.*?\\*/|//[^\\n]*|\"\"\".*?\"\"\"|\"(?:\\\\.|[^\"\\\\\\n])*\"|'(?:\\\\.|[^'\\\\])'");

    /** The source without comments and literals, so that only code counts. */
    static String code(String source) {
        return NOT_CODE.matcher(source).replaceAll(m -> m.group().startsWith("/") ? "" : "\"\"");
    }
}
