package dev.mnv3.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What --output may replace, and that nothing is lost or left behind on the way. */
class OutputFileTest {
    @TempDir
    Path dir;

    private static void write(Path target, List<Path> inputs, String text) throws IOException {
        OutputFile.write(target, inputs, ch -> ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8))));
    }

    private List<String> tempFiles() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".mnv3-tmp")).toList();
        }
    }

    @Test
    void replacesARegularFileAndLeavesNoTempFile() throws IOException {
        Path out = Files.writeString(dir.resolve("out.bin"), "old");
        write(out, List.of(), "new");
        assertEquals("new", Files.readString(out));
        assertEquals(List.of(), tempFiles());
    }

    @Test
    void writesThroughASymbolicLinkToItsTarget() throws IOException {
        Path real = Files.writeString(dir.resolve("real.bin"), "old");
        Path link = Files.createSymbolicLink(dir.resolve("link.bin"), Path.of("real.bin"));
        write(link, List.of(), "new");
        assertTrue(Files.isSymbolicLink(link), "the link stays a link");
        assertEquals("new", Files.readString(real));
    }

    /** The rename gives the output a new file: its mode (and owner) are the old file's, through a link or not. */
    @Test
    void theReplacedFileKeepsItsPermissions() throws IOException {
        for (String mode : List.of("rw-r-----", "rwxrwxrwx", "r--------")) {
            Path real = Files.writeString(dir.resolve("kept-" + mode + ".bin"), "old");
            Files.setPosixFilePermissions(real, PosixFilePermissions.fromString(mode));
            Path link = Files.createSymbolicLink(dir.resolve("link-" + mode + ".bin"), real.getFileName());
            write(link, List.of(), "new");
            assertEquals("new", Files.readString(real));
            assertEquals(mode, PosixFilePermissions.toString(Files.getPosixFilePermissions(real)), "through the link");
            write(real, List.of(), "newer");
            assertEquals(mode, PosixFilePermissions.toString(Files.getPosixFilePermissions(real)), "named directly");
        }
    }

    /** Work that fails half-way: the target is untouched, what was written is kept under the name asked for. */
    @Test
    void failedWorkKeepsItsPartialOutputWhenAsked() throws IOException {
        Path out = Files.writeString(dir.resolve("result.jsonl"), "old");
        Path partial = dir.resolve("result.jsonl.partial");
        OutputFile.PartialOutput e = assertThrows(OutputFile.PartialOutput.class, () -> OutputFile.write(out, List.of(), partial, ch -> {
            ch.write(ByteBuffer.wrap("line 1\n".getBytes(StandardCharsets.UTF_8)));
            throw new IllegalStateException("image 2 failed");
        }));
        assertEquals(partial, e.partial());
        assertEquals("image 2 failed", e.getCause().getMessage());
        assertEquals("old", Files.readString(out));
        assertEquals("line 1\n", Files.readString(partial));
        assertEquals(List.of(), tempFiles());
        // nothing written, nothing kept: the failure as it was
        Files.delete(partial);
        assertThrows(IllegalStateException.class, () -> OutputFile.write(out, List.of(), partial, ch -> {
            throw new IllegalStateException("first image failed");
        }));
        assertFalse(Files.exists(partial));
    }

    @Test
    void aDanglingLinkCreatesItsTarget() throws IOException {
        Path link = Files.createSymbolicLink(dir.resolve("dangling.bin"), Path.of("created.bin"));
        write(link, List.of(), "data");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("data", Files.readString(dir.resolve("created.bin")));
    }

    @Test
    void refusesADeviceOrFifo() throws Exception {
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        var e = assertThrows(FileSystemException.class, () -> write(fifo, List.of(), "x"));
        assertEquals(fifo + ": cannot write: it is not a regular file (a device, FIFO or socket); mnv3 only replaces regular "
                + "files", e.getMessage());
        assertFalse(Files.isRegularFile(fifo), "still a FIFO");
        // /dev/null is what the issue saw turned into a regular file (as root): only checked, never written
        var dev = assertThrows(FileSystemException.class, () -> OutputFile.check(Path.of("/dev/null"), List.of()));
        assertTrue(dev.getMessage().startsWith("/dev/null: cannot write: it is not a regular file"), dev.getMessage());
    }

    @Test
    void refusesADirectory() {
        var e = assertThrows(FileSystemException.class, () -> write(dir, List.of(), "x"));
        assertEquals(dir + ": cannot write: it is a directory", e.getMessage());
    }

    @Test
    void refusesToOverwriteAnInputByPathLinkOrHardLink() throws IOException {
        Path weights = Files.writeString(dir.resolve("w.safetensors"), "weights");
        Path symlink = Files.createSymbolicLink(dir.resolve("alias"), weights);
        Path hardLink = Files.createLink(dir.resolve("hard"), weights);
        Path dotted = dir.resolve(".").resolve("w.safetensors");
        for (Path out : List.of(weights, symlink, hardLink, dotted)) {
            var e = assertThrows(FileSystemException.class, () -> write(out, List.of(dir.resolve("other"), weights), "x"), out.toString());
            assertEquals(out + ": refusing to overwrite an input of this command (" + weights + "): choose another output file",
                    e.getMessage());
        }
        assertEquals("weights", Files.readString(weights));
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTempFileAndNamesTheUsersPath() throws IOException {
        Path out = Files.writeString(dir.resolve("out.bin"), "old");
        var e = assertThrows(FileSystemException.class, () -> OutputFile.write(out, List.of(), ch -> {
            ch.write(ByteBuffer.wrap(new byte[1000]));
            throw new IOException("No space left on device");
        }));
        assertEquals(out + ": cannot write: No space left on device", e.getMessage());
        assertEquals("old", Files.readString(out));
        assertEquals(List.of(), tempFiles());
        var missing = assertThrows(FileSystemException.class, () -> write(dir.resolve("no/such/dir/out.bin"), List.of(), "x"));
        assertEquals(dir.resolve("no/such/dir/out.bin") + ": cannot write: directory " + dir.resolve("no/such/dir")
                + " does not exist", missing.getMessage());
    }

    @Test
    void aLaterWriteRemovesTempFilesOfProcessesThatAreGone() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Process alive = new ProcessBuilder("sleep", "30").start();
        try {
            Path stale = Files.writeString(dir.resolve(".out.bin." + gone.pid() + ".1.mnv3-tmp"), "partial");
            Path live = Files.writeString(dir.resolve(".out.bin." + alive.pid() + ".1.mnv3-tmp"), "being written");
            Path other = Files.writeString(dir.resolve(".other.bin." + gone.pid() + ".1.mnv3-tmp"), "another target's");
            write(dir.resolve("out.bin"), List.of(), "new");
            assertFalse(Files.exists(stale), "the killed writer's temp file is removed");
            assertTrue(Files.exists(live), "a running writer's temp file stays");
            assertTrue(Files.exists(other), "only temp files of this target are touched");
        } finally {
            alive.destroyForcibly();
        }
    }

    /** A child JVM is stopped with SIGTERM in the middle of a write: its shutdown hook removes the partial file. */
    @Test
    void sigtermInTheMiddleOfAWriteRemovesThePartialFile() throws Exception {
        Path out = Files.writeString(dir.resolve("out.bin"), "old");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), SlowWriter.class.getName(),
                out.toString()).redirectErrorStream(true).start();
        try (var lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("writing", lines.readLine());
            assertEquals(1, tempFiles().size(), "the partial file exists while the child writes");
            child.destroy(); // SIGTERM
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        } finally {
            child.destroyForcibly();
        }
        assertEquals(List.of(), tempFiles());
        assertEquals("old", Files.readString(out));
    }

    /** Writes half a file, says so, and waits to be stopped. */
    public static final class SlowWriter {
        public static void main(String[] args) throws IOException {
            OutputFile.write(Path.of(args[0]), List.of(), ch -> {
                ch.write(ByteBuffer.wrap(new byte[4096]));
                System.out.println("writing");
                System.out.flush();
                try {
                    Thread.sleep(60_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }
}
