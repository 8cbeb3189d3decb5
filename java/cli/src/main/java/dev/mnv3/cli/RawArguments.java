package dev.mnv3.cli;

import dev.mnv3.core.io.FileNames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Arguments naming files whose names are not UTF-8. The JVM decodes its arguments from bytes
 * (UTF-8 under C.UTF-8), each byte that is not UTF-8 becoming U+FFFD, from which the name cannot be
 * rebuilt; on Linux the process's own {@code /proc/self/cmdline} still holds the bytes. Paths made
 * here from such an argument are made from its bytes, so the file opens as the shell named it.
 */
final class RawArguments {
    /** An argument (or the value after an option's '=') as the JVM decoded it, and its bytes. */
    private static final Map<String, byte[]> RAW = new ConcurrentHashMap<>();

    private RawArguments() {
    }

    /** Finds the bytes of every argument that did not decode; quietly nothing where the process's command line cannot be read. */
    static void recover(String[] args) {
        if (java.util.Arrays.stream(args).noneMatch(a -> a.indexOf('\uFFFD') >= 0)) return;
        List<byte[]> cmdline;
        try {
            cmdline = split(Files.readAllBytes(Path.of("/proc/self/cmdline")));
        } catch (IOException | RuntimeException e) {
            return;
        }
        if (cmdline.size() < args.length) return;
        // the program's arguments are the command line's last ones, after the JVM's options and the main class
        List<byte[]> mine = cmdline.subList(cmdline.size() - args.length, cmdline.size());
        for (int i = 0; i < args.length; i++) {
            byte[] raw = mine.get(i);
            if (args[i].indexOf('\uFFFD') < 0 || !new String(raw, StandardCharsets.UTF_8).equals(args[i])) continue;
            RAW.put(args[i], raw);
            int eq = args[i].indexOf('=');
            if (args[i].startsWith("-") && eq > 0) {
                // --option=VALUE: the value's bytes follow the first '=' (ASCII, one byte)
                RAW.put(args[i].substring(eq + 1), java.util.Arrays.copyOfRange(raw, indexOf(raw, (byte) '=') + 1, raw.length));
            }
        }
    }

    /** The path an argument names: from its bytes where it did not decode, else as it reads. */
    static Path path(String argument) {
        byte[] raw = RAW.get(argument);
        return raw != null ? FileNames.fromRawBytes(raw) : Path.of(argument);
    }

    private static int indexOf(byte[] b, byte c) {
        for (int i = 0; i < b.length; i++) if (b[i] == c) return i;
        return -1;
    }

    private static List<byte[]> split(byte[] cmdline) {
        List<byte[]> out = new ArrayList<>();
        ByteArrayOutputStream arg = new ByteArrayOutputStream();
        for (byte b : cmdline) {
            if (b == 0) {
                out.add(arg.toByteArray());
                arg.reset();
            } else {
                arg.write(b);
            }
        }
        return out;
    }
}
