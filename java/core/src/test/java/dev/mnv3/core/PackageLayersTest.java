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
 * The network's description (this package: configs, tables, the checkpoint layout as a plain
 * value) and the graph built from it know nothing of weights files: the weights package reads
 * checkpoints for a graph, never the other way round, so there is no import circle between them.
 */
class PackageLayersTest {
    private static final Path MAIN = Path.of("src/main/java/dev/mnv3/core").toAbsolutePath();

    @Test
    void theDescriptionAndTheGraphDoNotUseTheWeights() throws IOException {
        List<String> offenders = new ArrayList<>();
        int files = 0;
        for (Path dir : List.of(MAIN, MAIN.resolve("graph"))) {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.filter(f -> f.toString().endsWith(".java")).toList()) {
                    files++;
                    if (Files.readString(p).contains("dev.mnv3.core.weights")) offenders.add(MAIN.relativize(p).toString());
                }
            }
        }
        assertTrue(files > 10, "found only " + files + " sources under " + MAIN);
        assertEquals(List.of(), offenders, "these name dev.mnv3.core.weights");
    }
}
