package dev.mnv3.core.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Opening what the user named as an input file: it must be a regular file (a directory is not,
 * and a FIFO would block the reader forever), and text must be UTF-8.
 */
public final class InputFiles {
    private InputFiles() {
    }

    /** The file's attributes, after checking that it exists and is a regular file (links followed). */
    public static BasicFileAttributes requireRegularFile(Path p) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(p, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(p.toString());
        }
        if (a.isDirectory()) throw new FileSystemException(p.toString(), null, "is a directory, not a file");
        if (!a.isRegularFile()) {
            throw new FileSystemException(p.toString(), null, "is not a regular file (a FIFO, socket or device)");
        }
        return a;
    }

    /**
     * A UTF-8 text file of at most {@code maxBytes}, without the byte-order mark some editors put
     * first. Other encodings are refused with a message that says so and names the file.
     */
    public static String readUtf8(Path p, long maxBytes) throws IOException {
        BasicFileAttributes a = requireRegularFile(p);
        if (a.size() > maxBytes) {
            throw new FileSystemException(p.toString(), null, "is " + a.size() + " bytes, more than the " + maxBytes
                    + " a text file may have here");
        }
        byte[] bytes = Files.readAllBytes(p);
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new FileSystemException(p.toString(), null, "is not UTF-8 text (save it as UTF-8)");
        }
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }
}
