package dev.mnv3.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A model's settings are read from system properties in one place, so a compiled model behaves
 * the same in every JVM: checked on the sources of every module. A property read whose name is
 * not a literal outside {@code mnv3.} (java.vm.vendor, spark.master) may only be in the files
 * below, each for its reason.
 */
class SettingsArchitectureTest {
    private static final Path MODULES = Path.of("..");
    private static final Map<String, String> ALLOWED = Map.of(
            "core/src/main/java/dev/mnv3/core/backend/Settings.java", "the one reader, for CompileOptions.fromSystemProperties",
            "core/src/main/java/dev/mnv3/core/image/TurboJpegLibrary.java", "where libturbojpeg is",
            "core/src/main/java/dev/mnv3/core/image/TurboJpeg.java", "whether JPEGs go to libturbojpeg or javax.imageio",
            "cpu/src/main/java/dev/mnv3/cpu/fast/VectorSupport.java", "the JVM's one vector width: C2 needs it as a constant",
            "cuda/src/main/java/dev/mnv3/cuda/ffi/Fatbin.java", "where the kernels' fatbin is",
            "cuda/src/main/java/dev/mnv3/cuda/ffi/LibraryLocator.java", "where libcuda and cuDNN are",
            "spark/src/main/java/dev/mnv3/spark/SparkSetup.java", "Spark's own spark.* settings");
    /** A property read and its first argument (up to the first comma or closing parenthesis). */
    private static final Pattern READ = Pattern.compile(
            "\\b(?:System\\s*\\.\\s*getProperty|Boolean\\s*\\.\\s*getBoolean|Integer\\s*\\.\\s*getInteger|Long\\s*\\.\\s*getLong)"
                    + "\\s*\\(\\s*([^,)]*)|\\bSystem\\s*\\.\\s*getProperties\\s*\\(");
    private static final Pattern OTHER_LITERAL = Pattern.compile("\"(?!mnv3\\.)[\\w.]+\"");

    @Test
    void mnv3PropertiesAreReadOnlyByTheAllowedReaders() throws IOException {
        assertEquals(List.of(), violations(MODULES));
    }

    /** Each read outside the allowed files whose property may be one of ours, as "file: code". */
    static List<String> violations(Path modules) throws IOException {
        List<String> out = new ArrayList<>();
        int files = 0;
        try (Stream<Path> all = Files.walk(modules)) {
            for (Path p : all.filter(f -> f.toString().endsWith(".java") && f.toString().contains("/src/main/java/")).toList()) {
                files++;
                String name = modules.relativize(p).toString().replace('\\', '/');
                if (ALLOWED.containsKey(name)) continue;
                Matcher m = READ.matcher(withoutComments(Files.readString(p)));
                while (m.find()) {
                    String arg = m.group(1);
                    if (arg == null || !OTHER_LITERAL.matcher(arg.strip()).matches()) out.add(name + ": " + m.group());
                }
            }
        }
        assertTrue(files > 100, "found only " + files + " sources under " + modules.toAbsolutePath());
        return out;
    }

    private static String withoutComments(String source) {
        return source.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("(?m)^\\s*//[^\\n]*", "");
    }
}
