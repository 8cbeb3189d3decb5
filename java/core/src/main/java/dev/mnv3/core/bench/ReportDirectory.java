package dev.mnv3.core.bench;

import dev.mnv3.core.io.OutputFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The directory a benchmark report goes to: new, empty, or holding only a report's own three
 * files, which are the only files ever replaced there (each atomically, so a reader never sees
 * half a file). Checked before a benchmark starts, so a long run does not end in a refusal.
 */
public final class ReportDirectory {
    public static final String JSON = "results.json", CSV = "results.csv", HTML = "report.html";
    public static final List<String> FILES = List.of(JSON, CSV, HTML);

    private final Path dir;

    private ReportDirectory(Path dir) {
        this.dir = dir;
    }

    /** Checks {@code dir} (one-line errors naming it), creating nothing yet. */
    public static ReportDirectory check(Path dir) throws IOException {
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--report " + dir + ": not a directory");
        }
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                List<String> others = files.map(p -> p.getFileName().toString()).filter(n -> !ours(n)).sorted().toList();
                if (!others.isEmpty()) {
                    throw new IllegalArgumentException("--report " + dir + ": the directory holds other files (" + String.join(", ",
                            others.subList(0, Math.min(3, others.size()))) + (others.size() > 3 ? ", ..." : "")
                            + "); name a new or empty directory, or one holding only " + String.join(", ", FILES));
                }
            }
            if (!Files.isWritable(dir)) throw new IllegalArgumentException("--report " + dir + ": the directory is not writable");
        } else {
            Path parent = dir.toAbsolutePath().getParent();
            if (parent != null && Files.exists(parent) && !Files.isDirectory(parent)) {
                throw new IllegalArgumentException("--report " + dir + ": " + parent + " is not a directory");
            }
        }
        return new ReportDirectory(dir);
    }

    /** One of the report's files, or a temporary one a stopped write left behind. */
    private static boolean ours(String name) {
        return FILES.contains(name) || FILES.stream().anyMatch(f -> OutputFile.isTempFileOf(name, f));
    }

    public Path path() {
        return dir;
    }

    /** Writes one of the report's files (creating the directory), replaced as every output is ({@link OutputFile}). */
    public Path write(String name, String content) throws IOException {
        if (!FILES.contains(name)) throw new IllegalArgumentException("not a report file: " + name);
        Files.createDirectories(dir);
        Path target = dir.resolve(name);
        OutputFile.write(target, List.of(), ch -> {
            ByteBuffer bytes = StandardCharsets.UTF_8.encode(content);
            while (bytes.hasRemaining()) ch.write(bytes);
        });
        return target;
    }
}
