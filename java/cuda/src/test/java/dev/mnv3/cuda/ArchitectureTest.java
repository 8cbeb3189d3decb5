package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The rooms of the CUDA backend, checked on the sources: {@code ffi} (bindings) and {@code plan}
 * (pure-Java lowering) use no other room, {@code exec} uses those two, and only the package's top
 * (the API) uses {@code exec}. No arrow runs back up.
 */
class ArchitectureTest {
    private static final Path SOURCES = Path.of("src/main/java/dev/mnv3/cuda");
    private static final Pattern REFERENCE = Pattern.compile("dev\\.mnv3\\.cuda\\.(?:(ffi|plan|exec)\\.)?([A-Z]\\w*)");
    private static final Pattern PUBLIC_TYPE = Pattern.compile("(?m)^public\\s+(?:final\\s+|abstract\\s+|sealed\\s+)*(?:class|record|interface|enum)\\s");
    /** Which rooms each room may use; "top" is dev.mnv3.cuda itself. */
    private static final Map<String, Set<String>> ALLOWED = Map.of(
            "ffi", Set.of(), "plan", Set.of(), "exec", Set.of("ffi", "plan"), "top", Set.of("ffi", "plan", "exec"));

    @Test
    void noArrowRunsBackUp() throws IOException {
        List<String> violations = new ArrayList<>();
        int files = 0;
        try (Stream<Path> all = Files.walk(SOURCES)) {
            for (Path p : all.filter(f -> f.toString().endsWith(".java") && !f.endsWith("module-info.java")).toList()) {
                files++;
                String room = SOURCES.relativize(p).getNameCount() == 1 ? "top" : SOURCES.relativize(p).getName(0).toString();
                assertTrue(ALLOWED.containsKey(room), p + " is in no known room");
                Matcher m = REFERENCE.matcher(code(Files.readString(p)));
                while (m.find()) {
                    String used = m.group(1) == null ? "top" : m.group(1);
                    if (!used.equals(room) && !ALLOWED.get(room).contains(used)) {
                        violations.add(p + " (" + room + ") uses " + m.group());
                    }
                }
            }
        }
        assertTrue(files > 20, "found only " + files + " sources under " + SOURCES.toAbsolutePath());
        assertEquals(List.of(), violations);
    }

    @Test
    void onlyTheBackendAndTheModelArePublicAtTheTop() throws IOException {
        Set<String> publicTop = new TreeSet<>();
        try (Stream<Path> top = Files.list(SOURCES)) {
            for (Path p : top.filter(f -> f.toString().endsWith(".java")).toList()) {
                if (PUBLIC_TYPE.matcher(code(Files.readString(p))).find()) {
                    publicTop.add(p.getFileName().toString());
                }
            }
        }
        assertEquals(Set.of("CudaBackend.java", "CudaModel.java"), publicTop);
    }

    /** The source without comments and string literals, so that only code counts. */
    private static String code(String source) {
        return source.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\\n]*", "").replaceAll("\"(?:\\\\.|[^\"\\\\])*\"", "\"\"");
    }
}
