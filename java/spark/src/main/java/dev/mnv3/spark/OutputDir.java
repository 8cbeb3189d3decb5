package dev.mnv3.spark;

import dev.mnv3.spark.BatchJob.BatchException;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.util.ShutdownHookManager;

/**
 * The job's output directory (a path or a URI, on the file system Spark writes it to): checked
 * before any task runs (it must not exist; its place must take a new directory), and removed when
 * the job fails or the JVM is stopped while it writes, so that a rerun is not refused.
 */
final class OutputDir {
    /**
     * Below Spark's own shutdown hook (which stops the context, 40 in Hadoop's order) and above
     * the file systems' closing (10): the directory goes once no task writes to it any more.
     */
    private static final int SHUTDOWN_PRIORITY = 20;

    private final String name;
    private final Path path;
    private final FileSystem fs;

    private OutputDir(String name, Path path, FileSystem fs) {
        this.name = name;
        this.path = path;
        this.fs = fs;
    }

    /** The output, refused in one line when it exists or no directory can be made there. */
    static OutputDir claim(String output, Configuration hadoop) {
        Path p = new Path(output);
        try {
            FileSystem fs = p.getFileSystem(hadoop);
            if (fs.exists(p)) throw new BatchException("--output " + output + " exists: batch writes a new directory (remove it or name another)");
            if (!fs.mkdirs(p)) throw new BatchException("--output " + output + ": cannot create the directory");
            fs.delete(p, false); // Spark creates it, and refuses one that exists
            return new OutputDir(output, p, fs);
        } catch (IOException | RuntimeException e) {
            if (e instanceof BatchException b) throw b;
            throw new BatchException("--output " + output + ": cannot create the directory (" + SparkSetup.firstLine(e) + ")", e);
        }
    }

    /** Runs {@code write}; when it fails, or the JVM is stopped meanwhile, whatever it left of the output is removed. */
    void write(Runnable write) {
        Runnable remove = this::remove;
        ShutdownHookManager.get().addShutdownHook(remove, SHUTDOWN_PRIORITY);
        boolean written = false;
        try {
            write.run();
            written = true;
        } finally {
            if (!written) remove();
            try {
                ShutdownHookManager.get().removeShutdownHook(remove);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook runs
            }
        }
    }

    private void remove() {
        try {
            fs.delete(path, true);
        } catch (IOException | RuntimeException e) {
            System.err.println("mnv3: warning: could not remove the unfinished output " + name + ": " + SparkSetup.firstLine(e));
        }
    }
}
