package dev.mnv3.core.io;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * File names that are not valid UTF-8 (Linux names are bytes). The JDK keeps a listed name's bytes
 * inside its Path, so the file opens, but {@code toString} replaces each byte that is not UTF-8 with
 * U+FFFD, and two such names would read alike; {@link #display} shows those bytes as {@code \xFF}
 * instead. A name in an argument reaches the JVM already decoded (U+FFFD), so {@link #fromRawBytes}
 * builds the Path from the argument's bytes, which the caller recovers.
 */
public final class FileNames {
    private FileNames() {
    }

    /** The path as messages show it: {@code toString}, with each byte that is not UTF-8 as {@code \xHH}. */
    public static String display(Path p) {
        String s = p.toString();
        if (s.indexOf('\uFFFD') < 0) return s; // every byte decoded: the string is the name
        StringBuilder out = new StringBuilder();
        if (p.isAbsolute()) out.append('/');
        for (int i = 0; i < p.getNameCount(); i++) {
            if (i > 0) out.append('/');
            appendEscaped(out, bytes(p.getName(i)));
        }
        return out.toString();
    }

    /** A path from its bytes, exactly (the name need not be UTF-8); relative when they are. */
    public static Path fromRawBytes(byte[] name) {
        boolean absolute = name.length > 0 && name[0] == '/';
        StringBuilder uri = new StringBuilder("file://");
        if (!absolute) uri.append(Path.of("").toAbsolutePath().toUri().getRawPath());
        for (byte b : name) {
            int c = b & 0xff;
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "/-._~".indexOf(c) >= 0) uri.append((char) c);
            else uri.append('%').append(String.format("%02X", c));
        }
        Path p = Path.of(URI.create(uri.toString()));
        return absolute ? p : Path.of("").toAbsolutePath().relativize(p);
    }

    /** The bytes of one name element, from the URI the JDK builds from them (percent-encoding what is not ASCII). */
    private static byte[] bytes(Path element) {
        String raw = Path.of("/").resolve(element).toUri().getRawPath();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int end = raw.endsWith("/") && raw.length() > 1 ? raw.length() - 1 : raw.length(); // a directory's URI ends in '/'
        for (int i = 1; i < end; i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                out.write(Integer.parseInt(raw, i + 1, i + 3, 16));
                i += 2;
            } else {
                out.write(c);
            }
        }
        return out.toByteArray();
    }

    /** The bytes as UTF-8, each byte of a sequence that is not UTF-8 as {@code \xHH}. */
    private static void appendEscaped(StringBuilder out, byte[] name) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(name);
        CharBuffer chars = CharBuffer.allocate(name.length);
        while (in.hasRemaining()) {
            CoderResult r = d.decode(in, chars, true);
            chars.flip();
            out.append(chars);
            chars.clear();
            if (r.isError()) {
                for (int k = 0; k < r.length(); k++) out.append(String.format("\\x%02X", in.get() & 0xff));
            }
        }
    }
}
