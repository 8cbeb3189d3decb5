package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The outside programs the serve tests drive (curl, node with its gRPC packages, hey): found
 * here, or the test fails with a line that says how to install them. Never skipped: .ci/run
 * installs them (tools/serve-test-clients.sh).
 */
final class Tools {
    static final String INSTALL = "run tools/serve-test-clients.sh (as .ci/run and ./test do) to install curl, hey, openssl, node and the npm "
            + "packages the serve tests drive";
    /** The Node project of the gRPC client, with its node_modules once installed. */
    static final Path NODE_PROJECT = Path.of("src/test/node").toAbsolutePath();

    private Tools() {
    }

    record Run(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    /** The path of {@code program} on the PATH; fails the test when it is missing. */
    static String require(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, program);
            if (Files.isExecutable(p)) return p.toString();
        }
        return fail(program + " is not installed: " + INSTALL);
    }

    /** node, with @grpc/grpc-js and @grpc/proto-loader installed in the test's Node project. */
    static String requireNode() {
        String node = require("node");
        for (String pkg : List.of("@grpc/grpc-js", "@grpc/proto-loader")) {
            if (!Files.isDirectory(NODE_PROJECT.resolve("node_modules").resolve(pkg))) {
                fail("npm package " + pkg + " is not installed in " + NODE_PROJECT + ": " + INSTALL);
            }
        }
        return node;
    }

    static Run run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Path out = Files.createTempFile("mnv3-tool", ".out"), err = Files.createTempFile("mnv3-tool", ".err");
        try {
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
            }
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** An HTTP answer as curl got it. */
    record Http(int status, byte[] body, String headers) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** curl {@code url}: GET, or POST of {@code body} (a file) when given, with {@code headers} ("Name: value") and curl options ("--option" or "--option VALUE"). */
    static Http curl(String url, Path body, String... headers) throws IOException, InterruptedException {
        Path out = Files.createTempFile("mnv3-curl", ".body"), head = Files.createTempFile("mnv3-curl", ".head");
        try {
            List<String> cmd = new ArrayList<>(List.of(require("curl"), "-sS", "-o", out.toString(), "-D", head.toString(),
                    "-w", "%{http_code}"));
            for (String h : headers) cmd.addAll(h.startsWith("--") ? List.of(h.split(" ", 2)) : List.of("-H", h)); // a header, or a curl option
            if (body != null) cmd.addAll(List.of("-X", "POST", "--data-binary", "@" + body));
            cmd.add(url);
            Run r = run(cmd, 60);
            if (r.exit != 0) fail("curl failed: " + r);
            return new Http(Integer.parseInt(r.out.trim()), Files.readAllBytes(out), Files.readString(head));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(head);
        }
    }
}
