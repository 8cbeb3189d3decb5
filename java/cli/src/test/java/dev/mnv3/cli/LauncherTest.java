package dev.mnv3.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.testing.TorchReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The ./mnv3 launcher's way of running java (tools/env.sh): stderr holds only mnv3's lines, not
 * the JVM's incubator-module warning, and the exit status is java's.
 */
class LauncherTest {
    private record Run(int status, String out, String err) {
    }

    private static Run launch(String... mnv3Args) throws Exception {
        Path root = TorchReference.repositoryRoot();
        String javaBinary = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String script = "source tools/env.sh && mnv3_java_quiet \"$@\"";
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", script, "mnv3", javaBinary, "--add-modules",
                "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(mnv3Args));
        Process p = new ProcessBuilder(cmd).directory(root.toFile()).start();
        var err = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new Run(p.exitValue(), out, err.get());
    }

    @Test
    void stderrHoldsOnlyOurLines() throws Exception {
        Run ok = launch("info", "--model", "small");
        assertEquals(0, ok.status(), ok.toString());
        assertEquals("", ok.err(), "no JVM warning: " + ok);
        assertTrue(ok.out().contains("total parameters: 2,542,856"), ok.toString());
        Run bad = launch("info", "--model", "nope");
        assertEquals(1, bad.status(), bad.toString());
        assertEquals("mnv3: unknown model 'nope': expected large, small or the path of a JSON table file\n", bad.err());
    }

    @Test
    void theJvmWarnsWithoutTheLauncher() throws Exception {
        // the guard: the line the launcher drops is really printed by this JVM
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--add-modules",
                "jdk.incubator.vector", "-version").start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        assertTrue(err.startsWith("WARNING: Using incubator modules: jdk.incubator.vector\n"), err);
    }
}
