package dev.mnv3.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;

/**
 * A standard stream that throws when a write fails ({@link java.io.PrintWriter} and {@link
 * java.io.PrintStream} would swallow it): a full disk is an error, and a reader that went away
 * (a closed pipe, {@code | head -1}) ends the run at the next line instead of after all the work.
 */
final class CheckedOutput extends Writer {
    private final Writer out;
    private final String name;

    CheckedOutput(Writer out, String name) {
        this.out = out;
        this.name = name;
    }

    @Override
    public void write(char[] buf, int off, int len) {
        try {
            out.write(buf, off, len);
        } catch (IOException e) {
            throw new Failed(name, e);
        }
    }

    @Override
    public void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            throw new Failed(name, e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new Failed(name, e);
        }
    }

    /** A write to a standard stream that failed. */
    static final class Failed extends UncheckedIOException {
        private final String stream;

        Failed(String stream, IOException cause) {
            super(stream + ": " + cause.getMessage(), cause);
            this.stream = stream;
        }

        /** Whether the reader closed its end (EPIPE; the JVM ignores SIGPIPE, so a write says it). */
        boolean brokenPipe() {
            return String.valueOf(getCause().getMessage()).contains("Broken pipe");
        }

        String describe() {
            return "cannot write to " + stream + ": " + getCause().getMessage();
        }

        /** The failed write among {@code t} and its causes, or null. */
        static Failed in(Throwable t) {
            for (int i = 0; t != null && i < 16; i++, t = t.getCause()) {
                if (t instanceof Failed f) return f;
            }
            return null;
        }
    }
}
