package dev.mnv3.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No package is split between two modules: the module path refuses a split package, and one
 * module reaching into another's package-private code is a boundary only by convention (spark's
 * batch command has its own package and uses the CLI's public mixins; the kernel benchmark sits in
 * the cpu module's test sources).
 */
class SplitPackagesTest {
    private static final Path ROOT = Path.of("../..").toAbsolutePath().normalize();
    @Test
    void noPackageIsInTwoModules() throws IOException {
        assertEquals(Map.of(), splits(modulesByPackage()), "packages in two modules (the directories of their main sources)");
    }

    @Test
    void aPlantedSplitIsFound() throws IOException {
        Map<String, Set<String>> packages = modulesByPackage();
        packages.get("dev.mnv3.api").add("java/serve");
        assertEquals(Set.of("java/api", "java/serve"), splits(packages).get("dev.mnv3.api"));
    }

    /** Each package of a main source, with the modules (their directories) that hold it. */
    static Map<String, Set<String>> modulesByPackage() throws IOException {
        Map<String, Set<String>> out = new TreeMap<>();
        int files = 0;
        try (Stream<Path> all = Files.walk(ROOT)) {
            for (Path p : all.filter(SplitPackagesTest::isMainSource).toList()) {
                files++;
                String rel = ROOT.relativize(p).toString().replace('\\', '/');
                int at = rel.indexOf("/src/main/java/");
                String dir = rel.substring(at + "/src/main/java/".length());
                if (!dir.contains("/")) continue; // module-info.java
                String pkg = dir.substring(0, dir.lastIndexOf('/')).replace('/', '.');
                out.computeIfAbsent(pkg, k -> new TreeSet<>()).add(rel.substring(0, at));
            }
        }
        assertTrue(files > 100, "found only " + files + " main sources under " + ROOT);
        return out;
    }

    private static Map<String, Set<String>> splits(Map<String, Set<String>> packages) {
        Map<String, Set<String>> out = new TreeMap<>();
        packages.forEach((pkg, modules) -> {
            if (modules.size() > 1) out.put(pkg, modules);
        });
        return out;
    }

    private static boolean isMainSource(Path p) {
        String rel = ROOT.relativize(p).toString().replace('\\', '/');
        return rel.endsWith(".java") && rel.contains("/src/main/java/") && !rel.contains("/target/") && !rel.startsWith(".");
    }
}
