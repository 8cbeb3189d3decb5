package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * What the server logged while it was open: every java.util.logging record (Jetty, grpc-java and
 * mnv3 log there) and everything written to System.err (where an uncaught exception's trace goes),
 * which still reaches the console too.
 */
final class LogCapture implements AutoCloseable {
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final PrintStream originalErr = System.err;
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    LogCapture() {
        Logger.getLogger("").addHandler(handler);
        OutputStream both = new OutputStream() {
            @Override
            public void write(int b) {
                synchronized (err) {
                    err.write(b);
                }
                originalErr.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (err) {
                    err.write(b, off, len);
                }
                originalErr.write(b, off, len);
            }
        };
        System.setErr(new PrintStream(both, true, StandardCharsets.UTF_8));
    }

    String stderr() {
        synchronized (err) {
            return err.toString(StandardCharsets.UTF_8);
        }
    }

    /** No record carries an exception, and nothing that looks like a stack trace reached stderr. */
    void assertNoStackTraces(String what) {
        for (LogRecord r : records) {
            assertTrue(r.getThrown() == null, what + ": a log record with a stack trace: " + r.getLevel() + " " + r.getMessage() + ": "
                    + r.getThrown());
        }
        String e = stderr();
        assertTrue(!e.contains("\tat ") && !e.contains("Exception in thread"), what + ": a stack trace on stderr:\n" + e);
    }

    @Override
    public void close() {
        Logger.getLogger("").removeHandler(handler);
        System.setErr(originalErr);
    }
}
