package dev.mnv3.cli;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * What classify's IMAGE arguments name: a file as it is; a directory's image files (JPEG, PNG,
 * BMP, GIF by their extension), subdirectories included, in name order; a glob the shell did not
 * expand ({@code 'photos/*.jpg'}; {@code **} crosses directories), its matching files in name order.
 */
final class ImageInputs {
    private static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif");

    private ImageInputs() {
    }

    static List<Path> expand(List<String> arguments) throws IOException {
        List<Path> files = new ArrayList<>();
        for (String a : arguments) {
            if (isGlob(a) && !exists(a)) files.addAll(matching(a));
            else files.addAll(named(Path.of(a)));
        }
        return files;
    }

    /** Whether a file of that name exists (a name with a wildcard may be a real file, or no valid path at all). */
    private static boolean exists(String a) {
        try {
            return Files.exists(Path.of(a));
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
    }

    private static boolean isGlob(String a) {
        return a.chars().anyMatch(c -> "*?[{".indexOf(c) >= 0);
    }

    private static List<Path> named(Path p) throws IOException {
        if (!Files.isDirectory(p)) {
            if (!Files.exists(p)) throw new NoSuchFileException(p.toString());
            return List.of(p); // a FIFO or device is refused, with what it is, when it is opened
        }
        List<Path> images;
        try (Stream<Path> walk = Files.walk(p)) {
            images = walk.filter(f -> isImageName(f) && Files.isRegularFile(f)).sorted().toList();
        }
        if (images.isEmpty()) throw new Main.UserError("no JPEG, PNG, BMP or GIF files in directory " + p);
        return images;
    }

    /** The files a glob matches, walking from the directory before its first wildcard. */
    private static List<Path> matching(String glob) throws IOException {
        String separator = FileSystems.getDefault().getSeparator();
        int wildcard = 0;
        while ("*?[{".indexOf(glob.charAt(wildcard)) < 0) wildcard++;
        int cut = glob.lastIndexOf(separator, wildcard);
        Path base = cut < 0 ? Path.of("") : Path.of(cut == 0 ? separator : glob.substring(0, cut));
        PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + glob);
        if (!Files.isDirectory(base.toString().isEmpty() ? Path.of(".") : base)) {
            throw new Main.UserError("no files match " + glob + ": directory " + base + " does not exist");
        }
        List<Path> files;
        try (Stream<Path> walk = Files.walk(base.toString().isEmpty() ? Path.of(".") : base)) {
            files = walk.map(f -> base.toString().isEmpty() ? Path.of(".").relativize(f) : f)
                    .filter(f -> matcher.matches(f) && Files.isRegularFile(f)).sorted().toList();
        }
        if (files.isEmpty()) throw new Main.UserError("no files match " + glob);
        return files;
    }

    /** Whether a directory's file of this name is one of its images (by the extension). */
    static boolean isImageName(Path f) {
        String name = f.getFileName() == null ? "" : f.getFileName().toString().toLowerCase(Locale.ROOT);
        return EXTENSIONS.stream().anyMatch(name::endsWith);
    }
}
