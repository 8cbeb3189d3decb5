package dev.mnv3.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A model's settings are read from system properties in one place, so a compiled model behaves
 * the same in every JVM: checked on the sources of every module. A property read whose name is
 * not a literal outside {@code mnv3.} (java.vm.vendor, spark.master) may only be in the files
 * below, each for its reason. And those settings are read once: {@link CompileOptions#fromSystemProperties()}
 * is called by the CLI's backend options alone, which keep what it returned for the command.
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

    /** The one caller of CompileOptions.fromSystemProperties in main code, once: the CLI reads the settings once per command. */
    private static final Map<String, Integer> OPTIONS_READERS = Map.of("cli/src/main/java/dev/mnv3/cli/BackendOptions.java", 1);
    private static final String OPTIONS_READ = "fromSystemProperties";

    @Test
    void mnv3PropertiesAreReadOnlyByTheAllowedReaders() throws IOException {
        assertEquals(List.of(), violations(MODULES));
    }

    @Test
    void compileOptionsAreReadFromThePropertiesInOnePlace() throws IOException {
        assertEquals(OPTIONS_READERS, optionsReads(MODULES));
    }

    /** Each read outside the allowed files whose property may be one of ours, as "file: code". */
    static List<String> violations(Path modules) throws IOException {
        List<String> out = new ArrayList<>();
        mainSources(modules).forEach((name, code) -> {
            if (ALLOWED.containsKey(name)) return;
            Matcher m = READ.matcher(code);
            while (m.find()) {
                String arg = m.group(1);
                if (arg == null || !OTHER_LITERAL.matcher(arg.strip()).matches()) out.add(name + ": " + m.group());
            }
        });
        return out;
    }

    /** How often each file but CompileOptions itself names {@code fromSystemProperties}, by file. */
    static Map<String, Integer> optionsReads(Path modules) throws IOException {
        Map<String, Integer> out = new TreeMap<>();
        mainSources(modules).forEach((name, code) -> {
            int n = code.split("\\b" + OPTIONS_READ + "\\b", -1).length - 1;
            if (n > 0 && !name.endsWith("/dev/mnv3/core/backend/CompileOptions.java")) out.put(name, n);
        });
        return out;
    }

    /** Every module's main source, without comments, by its path under {@code modules}. */
    private static Map<String, String> mainSources(Path modules) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(modules)) {
            for (Path p : all.filter(f -> f.toString().endsWith(".java") && f.toString().contains("/src/main/java/")).toList()) {
                out.put(modules.relativize(p).toString().replace('\\', '/'), withoutComments(Files.readString(p)));
            }
        }
        assertTrue(out.size() > 100, "found only " + out.size() + " sources under " + modules.toAbsolutePath());
        return out;
    }

    private static String withoutComments(String source) {
        return source.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("(?m)^\\s*//[^\\n]*", "");
    }
}
