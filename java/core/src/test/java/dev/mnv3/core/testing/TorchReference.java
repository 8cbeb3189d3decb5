package dev.mnv3.core.testing;

import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.SafeTensors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code tools/reference/make_reference.py} (torchvision's MobileNetV3) and reads what it
 * wrote. Parity tests must run in CI, so a missing PyTorch is a test failure with instructions,
 * never a skip; set MNV3_PYTHON to choose the interpreter.
 */
public final class TorchReference {
    /** The files one reference case produced. */
    public record Case(Path dir) {
        public Path weights() {
            return dir.resolve("weights.safetensors");
        }

        public Path inputFile() {
            return dir.resolve("input.safetensors");
        }

        public Tensor input() throws IOException {
            try (SafeTensors st = SafeTensors.open(inputFile())) {
                return st.readTensor("input");
            }
        }

        /** Every node output torchvision produced, by mnv3 trace name. */
        public Map<String, Tensor> expected() throws IOException {
            Map<String, Tensor> out = new LinkedHashMap<>();
            try (SafeTensors st = SafeTensors.open(dir.resolve("expected.safetensors"))) {
                for (String name : st.entries().keySet()) out.put(name, st.readTensor(name));
            }
            return out;
        }
    }

    private static String python;

    private TorchReference() {
    }

    /** Generates one case into a fresh directory under {@code parent}. */
    public static Case generate(Path parent, String... args) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory(parent, "ref");
        List<String> cmd = new ArrayList<>(List.of(python(), script().toString()));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--out", dir.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("reference script failed: " + String.join(" ", cmd) + "\n" + log);
        }
        return new Case(dir);
    }

    /** The repository's tools/reference/make_reference.py, found from the working directory up. */
    public static Path script() {
        return repositoryRoot().resolve("tools/reference/make_reference.py");
    }

    public static Path repositoryRoot() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.exists(d.resolve("tools/reference/make_reference.py"))) return d;
        }
        throw new IllegalStateException("tools/reference/make_reference.py not found above " + dir);
    }

    /** A python3 that can import torchvision: $MNV3_PYTHON, then Debian's /usr/bin/python3, then python3 on PATH. */
    public static synchronized String python() throws IOException, InterruptedException {
        if (python != null) return python;
        List<String> candidates = new ArrayList<>();
        String env = System.getenv("MNV3_PYTHON");
        if (env != null && !env.isBlank()) candidates.add(env);
        candidates.add("/usr/bin/python3");
        candidates.add("python3");
        for (String c : candidates) {
            try {
                Process p = new ProcessBuilder(c, "-c", "import torch, torchvision").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                if (p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0) return python = c;
            } catch (IOException notFound) {
                // try the next candidate
            }
        }
        throw new IllegalStateException("PyTorch reference unavailable: none of " + candidates + " can import torch and "
                + "torchvision. Install them (apt-get install python3-torchvision) or set MNV3_PYTHON.");
    }

    /** Runs {@code python tools/reference/NAME args...} with {@link #python()}, failing with its output unless it exits 0 within two minutes. */
    public static void runTool(String name, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(python(), repositoryRoot().resolve("tools/reference").resolve(name).toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) throw new AssertionError(String.join(" ", command) + " failed: " + log);
    }

    /** Runs {@code python -c script args...} with {@link #python()}, failing with its output unless it exits 0 within two minutes. */
    public static void runScript(String script, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(python(), "-c", script));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) throw new AssertionError("python failed: " + log);
    }
}
