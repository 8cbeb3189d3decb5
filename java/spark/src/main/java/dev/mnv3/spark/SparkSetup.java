package dev.mnv3.spark;

import dev.mnv3.spark.BatchJob.BatchException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * What {@link BatchJob} settles with Spark before any task runs: the master reachable, embedded
 * mode kept to this machine, the job's jar shipped to a cluster, executors on a JDK that loads
 * mnv3's classes; and a failed job said in one line.
 */
final class SparkSetup {
    /** The class file version mnv3 is compiled for. */
    static final int JAVA = 25;
    private static final int CONNECT_MS = 5000;

    private SparkSetup() {
    }

    /** Whether Spark runs in this JVM (local, local[N], local[*], local[N,F]); local-cluster runs executors apart. */
    static boolean isLocal(String master) {
        return master.equals("local") || master.startsWith("local[");
    }

    /**
     * A standalone master (spark://HOST:PORT, or several, comma-separated) that nothing answers on
     * is refused at once: Spark would retry for a minute, then fail with a stopped SparkContext.
     */
    static void checkReachable(String master) {
        if (!master.startsWith("spark://")) return;
        String why = null;
        for (String hostPort : master.substring("spark://".length()).split(",")) {
            int colon = hostPort.lastIndexOf(':');
            if (colon < 0) throw new BatchException("--master " + master + ": no port in '" + hostPort + "' (spark://HOST:PORT)");
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))), CONNECT_MS);
                return;
            } catch (IOException | IllegalArgumentException e) {
                why = hostPort + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
            }
        }
        throw new BatchException("cannot reach the Spark master " + master + " (" + why + "): is it running, and is this its address?");
    }

    /**
     * The settings of a session made here. Embedded mode stays on this machine: no UI, the driver on the loopback address. On a
     * cluster the executors need the job's classes: the jar this class came from joins
     * spark.jars (spark-submit has put it there already). What the user set stays.
     */
    static Map<String, String> settings(String master) {
        Map<String, String> set = new LinkedHashMap<>();
        if (isLocal(master)) {
            for (String[] kv : new String[][] {{"spark.ui.enabled", "false"}, {"spark.driver.host", "127.0.0.1"},
                    {"spark.driver.bindAddress", "127.0.0.1"}}) {
                if (System.getProperty(kv[0]) == null) set.put(kv[0], kv[1]);
            }
            return set;
        }
        String jar = jobJar();
        String jars = System.getProperty("spark.jars", "");
        if (jar != null && !Arrays.asList(jars.split(",")).contains(jar)) set.put("spark.jars", jars.isEmpty() ? jar : jars + "," + jar);
        return set;
    }

    /** The jar that holds the job's classes (mnv3-spark.jar), or null when they come from a directory (a build's classes). */
    static String jobJar() {
        CodeSource source = BatchJob.class.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) return null;
        try {
            Path p = Path.of(source.getLocation().toURI());
            return Files.isRegularFile(p) && p.getFileName().toString().endsWith(".jar") ? p.toAbsolutePath().toString() : null;
        } catch (URISyntaxException | IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * The executors' Java, asked through Spark SQL's reflect (no class of ours, so it runs on any
     * JDK): one older than {@link #JAVA} would fail every task with an UnsupportedClassVersionError.
     */
    static void checkExecutorJava(SparkSession spark) {
        int n = Math.max(1, spark.sparkContext().defaultParallelism());
        List<Row> versions;
        try {
            versions = spark.range(0, n, 1, n)
                    .selectExpr("reflect('java.lang.System', 'getProperty', 'java.specification.version') AS v").collectAsList();
        } catch (Exception e) { // SparkException is checked, and thrown from Scala undeclared
            if (!spark.sparkContext().isStopped()) throw new BatchException(describe(e), e);
            throw new BatchException("the Spark cluster gave up on the job: no executor started (see the Master's and the "
                    + "Workers' logs; a Worker needs SPARK_HOME with Spark's jars, and JAVA_HOME)", e);
        }
        for (Row r : versions) {
            String v = r.getString(0);
            if (feature(v) < JAVA) throw new BatchException(olderJava(v));
        }
    }

    private static int feature(String version) {
        Matcher m = Pattern.compile("(1\\.)?(\\d+).*").matcher(version == null ? "" : version);
        return m.matches() ? Integer.parseInt(m.group(2)) : 0;
    }

    private static String olderJava(String version) {
        return "the Spark executors run Java " + version + ", mnv3 needs Java " + JAVA + " or newer on every Worker "
                + "(start the Workers with JAVA_HOME set to a JDK " + JAVA + ")";
    }

    /** A failed job in one line: the task's own error, not Spark's stack of stages. */
    static String describe(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            Matcher m = Pattern.compile("class file version (\\d+)\\.\\d+\\), this version of the Java Runtime only recognizes class file "
                    + "versions up to (\\d+)").matcher(String.valueOf(t.getMessage()));
            if (m.find()) return olderJava(String.valueOf(Integer.parseInt(m.group(2)) - 44));
            if (t.getCause() == t) break;
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String line = firstLine(root);
        Matcher m = Pattern.compile("most recent failure: Lost task [^)]*\\)[^:]*: (.*)").matcher(line);
        return "the Spark job failed: " + (m.find() ? m.group(1) : line);
    }

    /** The first line of an exception's message, with its class when the message alone would not say what happened. */
    static String firstLine(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) return e.getClass().getSimpleName();
        String line = message.strip().lines().findFirst().orElse("");
        return e instanceof IOException && e.getClass() != IOException.class || e instanceof Error
                ? e.getClass().getSimpleName() + ": " + line : line;
    }
}
