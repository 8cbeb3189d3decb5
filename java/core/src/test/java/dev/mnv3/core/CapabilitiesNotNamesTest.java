package dev.mnv3.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No main source outside the CUDA backend tests a backend's name for "cuda": code asks what a
 * backend or model can do (Backend#usesDevices, #concurrentCalls, #replaysGraphs,
 * #kernelLibraryChoice, CompiledModel#devicePreprocessing, #kernelChoice), so a new backend
 * touches only its own files.
 */
class CapabilitiesNotNamesTest {
    private static final Path ROOT = Path.of("../..").toAbsolutePath().normalize();
    /** "cuda".equals(x), x.equals("cuda"), equalsIgnoreCase, and the same with CudaBackend.NAME. */
    static final Pattern NAME_CHECK = Pattern.compile(
            "(\"cuda\"|CudaBackend\\.NAME)\\s*\\.\\s*equals(IgnoreCase)?\\s*\\(|\\.equals(IgnoreCase)?\\s*\\(\\s*(\"cuda\"|CudaBackend\\.NAME)\\s*\\)");

    @Test
    void noCodeOutsideTheCudaBackendTestsTheBackendsName() throws IOException {
        List<String> found = new ArrayList<>();
        int files = 0;
        try (Stream<Path> all = Files.walk(ROOT)) {
            for (Path p : all.filter(CapabilitiesNotNamesTest::isChecked).toList()) {
                files++;
                List<String> lines = Files.readAllLines(p);
                for (int i = 0; i < lines.size(); i++) {
                    if (NAME_CHECK.matcher(lines.get(i)).find()) found.add(ROOT.relativize(p) + ":" + (i + 1) + ": " + lines.get(i).strip());
                }
            }
        }
        assertTrue(files > 100, "found only " + files + " main sources under " + ROOT);
        assertEquals(List.of(), found, "ask the Backend or CompiledModel what it can do instead");
    }

    @Test
    void thePatternFindsTheChecksItIsFor() {
        for (String planted : List.of("m.backend().equals(\"cuda\")", "\"cuda\".equals(name)", "CudaBackend.NAME.equals(b.name())",
                "b.name().equalsIgnoreCase(CudaBackend.NAME)")) {
            assertTrue(NAME_CHECK.matcher(planted).find(), planted);
        }
        assertTrue(!NAME_CHECK.matcher("Backends.named(\"cuda\")").find(), "naming a backend to look it up is fine");
    }

    private static boolean isChecked(Path p) {
        String rel = ROOT.relativize(p).toString().replace('\\', '/');
        return rel.endsWith(".java") && rel.contains("/src/main/java/") && !rel.contains("/target/") && !rel.startsWith(".")
                && !rel.startsWith("java/cuda/");
    }
}
