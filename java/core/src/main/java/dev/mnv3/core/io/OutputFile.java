package dev.mnv3.core.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replacing a file the user named as an output, so that nothing is lost: the data goes to a temp
 * file beside the target, which is renamed over it only when complete. Only regular files are
 * replaced (never a device, FIFO or directory); a symbolic link is written through, to its
 * target, which keeps its permissions and (where this process may set it) its owner and group; a
 * file the same command reads is never overwritten. The replacement is a new file: other hard
 * links to the old one keep the old content. Temp files are named
 * {@code .NAME.PID.N.mnv3-tmp}: removed on failure and on SIGTERM, and a later write to the same
 * target removes those whose process is gone (after a SIGKILL).
 */
public final class OutputFile {
    private static final String TEMP_SUFFIX = ".mnv3-tmp";
    private static final int MAX_LINKS = 40;
    private static final AtomicLong SEQUENCE = new AtomicLong();
    private static final Set<Path> IN_PROGRESS = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path tmp : IN_PROGRESS) deleteQuietly(tmp);
        }, "mnv3-remove-temp-files"));
    }

    /** Writes the file's whole content to a channel positioned at 0. */
    public interface Content {
        void writeTo(FileChannel ch) throws IOException;
    }

    private OutputFile() {
    }

    /**
     * Checks that {@code target} may be replaced by a command that reads {@code inputs}, and
     * returns where the bytes will go: {@code target}, or the file its symbolic links lead to.
     * Errors name {@code target} as the user wrote it.
     */
    public static Path check(Path target, Collection<Path> inputs) throws IOException {
        Path file = followLinks(target);
        Path dir = file.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new FileSystemException(target.toString(), null, "cannot write: directory " + dir + " does not exist");
        }
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (a.isDirectory()) throw new FileSystemException(target.toString(), null, "cannot write: it is a directory");
            if (!a.isRegularFile()) {
                throw new FileSystemException(target.toString(), null,
                        "cannot write: it is not a regular file (a device, FIFO or socket); mnv3 only replaces regular files");
            }
            for (Path in : inputs) {
                if (Files.exists(in) && Files.isSameFile(file, in)) {
                    throw new FileSystemException(target.toString(), null, "refusing to overwrite an input of this command ("
                            + in + "): choose another output file");
                }
            }
        }
        return file;
    }

    /** {@link #check}s {@code target}, then writes {@code content} and renames it into place. */
    public static void write(Path target, Collection<Path> inputs, Content content) throws IOException {
        write(target, inputs, null, content);
    }

    /**
     * As {@link #write(Path, Collection, Content)}; but when {@code content} fails with an unchecked
     * exception (the work failed, not the writing), what it wrote so far is kept under the name
     * {@code partial} (a file beside the target, checked and replaced as the target would be) and
     * a {@link PartialOutput} is thrown, its cause the failure. {@code partial} null: nothing is kept.
     */
    public static void write(Path target, Collection<Path> inputs, Path partial, Content content) throws IOException {
        Path file = check(target, inputs);
        removeStaleTempFiles(file);
        Path tmp = file.resolveSibling("." + file.getFileName() + "." + ProcessHandle.current().pid() + "."
                + SEQUENCE.incrementAndGet() + TEMP_SUFFIX);
        IN_PROGRESS.add(tmp);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            try {
                content.writeTo(ch);
            } catch (RuntimeException e) {
                if (partial == null || ch.size() == 0) throw e;
                ch.close();
                Path kept = check(partial, inputs);
                Files.move(tmp, kept, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                throw new PartialOutput(partial, e);
            }
            ch.force(false);
            ch.close();
            keepModeAndOwner(file, tmp);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new FileSystemException(target.toString(), null, "cannot replace it atomically on this file system");
            }
        } catch (FileSystemException e) {
            throw renamed(e, target);
        } catch (IOException e) {
            throw new FileSystemException(target.toString(), null, "cannot write: " + e.getMessage());
        } finally {
            deleteQuietly(tmp); // gone after a successful rename; the partial file otherwise
            IN_PROGRESS.remove(tmp);
        }
    }

    /**
     * The replaced file's permissions and owner (and group) on its replacement, where the file system
     * has them and this process may set them: a rename would otherwise give the output a new file's.
     */
    private static void keepModeAndOwner(Path file, Path tmp) throws IOException {
        PosixFileAttributes old;
        try {
            old = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException | UnsupportedOperationException e) {
            return; // a new file, or no POSIX attributes here
        }
        Files.setPosixFilePermissions(tmp, old.permissions());
        PosixFileAttributeView view = Files.getFileAttributeView(tmp, PosixFileAttributeView.class);
        try {
            if (!old.owner().equals(Files.getOwner(tmp))) view.setOwner(old.owner());
            view.setGroup(old.group());
        } catch (IOException e) {
            // only root gives a file away: the output is then the writer's, as any new file is
        }
    }

    /** Work that failed after writing part of its output, which was kept: {@link #partial()} names it. */
    public static final class PartialOutput extends RuntimeException {
        private final Path partial;

        PartialOutput(Path partial, RuntimeException cause) {
            super(cause.getMessage() + " (what was written before it is in " + partial + ")", cause);
            this.partial = partial;
        }

        public Path partial() {
            return partial;
        }
    }

    /** The same failure, told with the user's path instead of the temp file's. */
    private static FileSystemException renamed(FileSystemException e, Path target) {
        if (e.getFile() != null && e.getFile().equals(target.toString())) return e;
        String reason = e instanceof NoSuchFileException ? "no such directory"
                : e instanceof java.nio.file.AccessDeniedException ? "permission denied"
                : e.getReason() != null ? e.getReason() : e.getClass().getSimpleName();
        return new FileSystemException(target.toString(), null, "cannot write: " + reason);
    }

    /** The file a chain of symbolic links ends at (the path itself when it is not a link). */
    static Path followLinks(Path p) throws IOException {
        Path cur = p.toAbsolutePath();
        for (int i = 0; i < MAX_LINKS; i++) {
            if (!Files.isSymbolicLink(cur)) return cur;
            cur = cur.getParent().resolve(Files.readSymbolicLink(cur));
        }
        throw new FileSystemException(p.toString(), null, "cannot write: more than " + MAX_LINKS + " symbolic links");
    }

    /** Whether {@code name} is a temp file of a write to a file named {@code fileName} (by any process). */
    public static boolean isTempFileOf(String name, String fileName) {
        return tempFiles(fileName).matcher(name).matches();
    }

    /** The names of the temp files of writes to {@code fileName}; group 1 is the writer's pid. */
    private static Pattern tempFiles(String fileName) {
        return Pattern.compile("\\." + Pattern.quote(fileName) + "\\.(\\d{1,18})\\.\\d+" + Pattern.quote(TEMP_SUFFIX));
    }

    /** Temp files for {@code file} left by processes that no longer run (killed while writing). */
    static void removeStaleTempFiles(Path file) {
        Pattern mine = tempFiles(file.getFileName().toString());
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(file.getParent())) {
            for (Path e : entries) {
                Matcher m = mine.matcher(e.getFileName().toString());
                if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) deleteQuietly(e);
            }
        } catch (IOException | RuntimeException e) {
            // cleaning up after others is best effort: the write itself goes on
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // nothing more to do: the name says what it is
        }
    }
}
