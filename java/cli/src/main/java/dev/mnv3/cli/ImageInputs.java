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
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.EnumSet;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * What classify's IMAGE arguments name: a file as it is; a directory's image files (JPEG, PNG,
 * WebP, BMP, GIF by their extension), subdirectories included, in name order; a glob the shell did
 * not expand ({@code 'photos/*.jpg'}; {@code **} crosses directories), its matching files in name
 * order, looked for only as many levels down as the pattern has.
 */
public final class ImageInputs {
    private static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif");

    private ImageInputs() {
    }

    /** The files the arguments name; a subdirectory that cannot be listed is an error. */
    public static List<Path> expand(List<String> arguments) throws IOException {
        return expand(arguments, null);
    }

    /**
     * The files the arguments name. A subdirectory that cannot be listed is an error, or with
     * {@code skipped} (--lenient) a line given to it. Entries that are no directory but no regular
     * file either (a FIFO, a dangling link) are listed: opening them fails, for that file alone.
     */
    static List<Path> expand(List<String> arguments, Consumer<String> skipped) throws IOException {
        List<Path> files = new ArrayList<>();
        for (String a : arguments) {
            if (isGlob(a) && !exists(a)) files.addAll(matching(a, skipped));
            else files.addAll(named(RawArguments.path(a), skipped));
        }
        return files;
    }

    /** Whether a file of that name exists (a name with a wildcard may be a real file, or no valid path at all). */
    private static boolean exists(String a) {
        try {
            return Files.exists(RawArguments.path(a));
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
    }

    private static boolean isGlob(String a) {
        return a.chars().anyMatch(c -> "*?[{".indexOf(c) >= 0);
    }

    private static List<Path> named(Path p, Consumer<String> skipped) throws IOException {
        if (!Files.isDirectory(p)) {
            if (!Files.exists(p)) throw new NoSuchFileException(p.toString());
            return List.of(p); // a FIFO or device is refused, with what it is, when it is opened
        }
        List<Path> images = walk(p, Integer.MAX_VALUE, ImageInputs::isImageName, skipped);
        if (images.isEmpty()) throw new Main.UserError("no JPEG, PNG, WebP, BMP or GIF files in directory " + p);
        return images;
    }

    /**
     * The files a glob matches, walking from the directory before its first wildcard only as deep
     * as the pattern goes ({@code **} goes all the way).
     */
    private static List<Path> matching(String glob, Consumer<String> skipped) throws IOException {
        String separator = FileSystems.getDefault().getSeparator();
        int wildcard = 0;
        while ("*?[{".indexOf(glob.charAt(wildcard)) < 0) wildcard++;
        int cut = glob.lastIndexOf(separator, wildcard);
        Path base = cut < 0 ? Path.of("") : Path.of(cut == 0 ? separator : glob.substring(0, cut));
        Path start = base.toString().isEmpty() ? Path.of(".") : base;
        PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + glob);
        if (!Files.isDirectory(start)) {
            throw new Main.UserError("no files match " + glob + ": directory " + base + " does not exist");
        }
        String rest = glob.substring(cut + 1);
        int depth = rest.contains("**") ? Integer.MAX_VALUE : (int) rest.chars().filter(c -> c == separator.charAt(0)).count() + 1;
        List<Path> files = walk(start, depth, f -> matcher.matches(base.toString().isEmpty() ? start.relativize(f) : f), skipped)
                .stream().map(f -> base.toString().isEmpty() ? start.relativize(f) : f).toList();
        if (files.isEmpty()) throw new Main.UserError("no files match " + glob);
        return files;
    }

    /**
     * The entries under {@code dir}, at most {@code depth} levels down, that {@code keep} takes and
     * are no directory, in name order.
     */
    private static List<Path> walk(Path dir, int depth, Predicate<Path> keep, Consumer<String> skipped) throws IOException {
        List<Path> found = new ArrayList<>();
        Files.walkFileTree(dir, EnumSet.noneOf(FileVisitOption.class), depth, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
                // a link is judged by what it leads to: a link to a directory is no image, a dangling one fails when opened
                if (!Files.isDirectory(f) && keep.test(f)) found.add(f);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
                if (skipped == null || f.equals(dir)) throw e;
                skipped.accept(Main.describe(e) + "; its files skipped (--lenient)");
                return FileVisitResult.CONTINUE;
            }
        });
        found.sort(null);
        return found;
    }

    /** Whether a directory's file of this name is one of its images (by the extension). */
    public static boolean isImageName(Path f) {
        String name = f.getFileName() == null ? "" : f.getFileName().toString().toLowerCase(Locale.ROOT);
        return EXTENSIONS.stream().anyMatch(name::endsWith);
    }
}
