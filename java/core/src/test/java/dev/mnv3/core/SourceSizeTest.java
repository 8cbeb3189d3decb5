package dev.mnv3.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No main source file of the project (Java of every module and the benchmarks, the CUDA kernels)
 * is over {@value #MAX_LINES} lines: past that a file holds more than one thing to understand.
 * Tests and generated sources under target/ do not count.
 */
class SourceSizeTest {
    static final int MAX_LINES = 350;
    /** This module's directory is java/core; the repository is two levels up. */
    private static final Path ROOT = Path.of("../..").toAbsolutePath().normalize();

    @Test
    void noMainSourceFileIsOverTheLimit() throws IOException {
        List<String> over = new ArrayList<>();
        int files = 0;
        try (Stream<Path> all = Files.walk(ROOT)) {
            for (Path p : all.filter(SourceSizeTest::isMainSource).toList()) {
                files++;
                long lines;
                try (Stream<String> l = Files.lines(p)) {
                    lines = l.count();
                }
                if (lines > MAX_LINES) over.add(ROOT.relativize(p) + ": " + lines + " lines");
            }
        }
        assertTrue(files > 100, "found only " + files + " main sources under " + ROOT);
        assertEquals(List.of(), over, "split these along their seams");
    }

    private static boolean isMainSource(Path p) {
        String rel = ROOT.relativize(p).toString().replace('\\', '/');
        if (rel.contains("/target/") || rel.startsWith(".") || rel.contains("/node_modules/")) return false;
        if (rel.endsWith(".java")) return rel.contains("/src/main/java/");
        return rel.startsWith("native/") && (rel.endsWith(".cu") || rel.endsWith(".cuh"));
    }
}
