package dev.mnv3.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** What a batch job settles before Spark runs a task, and how a failed job reads: no Spark started. */
class SparkSetupTest {
    @Test
    void theModelsThreadsAreAnExecutorsCores() {
        assertEquals(3, ImageInference.executorThreads(new SparkConf(false).set("spark.master", "local[3]")));
        assertEquals(1, ImageInference.executorThreads(new SparkConf(false).set("spark.master", "local")));
        assertEquals(0, ImageInference.executorThreads(new SparkConf(false).set("spark.master", "local[*]")), "every processor");
        assertEquals(2, ImageInference.executorThreads(new SparkConf(false).set("spark.master", "spark://h:7077").set("spark.executor.cores", "2")));
        assertEquals(0, ImageInference.executorThreads(new SparkConf(false).set("spark.master", "spark://h:7077")));
    }

    @Test
    void embeddedModeHasNoUiAndListensOnLoopbackOnly() {
        assertEquals(Map.of("spark.ui.enabled", "false", "spark.driver.host", "127.0.0.1", "spark.driver.bindAddress", "127.0.0.1"),
                SparkSetup.settings("local[2]"));
        assertTrue(SparkSetup.settings("local-cluster[1,1,512]").keySet().stream().noneMatch(k -> k.startsWith("spark.ui")));
    }

    @Test
    void aMasterNobodyListensOnIsOneLineAtOnce() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        long start = System.nanoTime();
        BatchJob.BatchException e = assertThrows(BatchJob.BatchException.class, () -> SparkSetup.checkReachable("spark://127.0.0.1:" + port));
        assertTrue(e.getMessage().startsWith("cannot reach the Spark master spark://127.0.0.1:" + port), e.getMessage());
        assertTrue((System.nanoTime() - start) / 1e9 < 30, "not Spark's minute of retries");
        try (ServerSocket s = new ServerSocket(0)) {
            SparkSetup.checkReachable("spark://127.0.0.1:" + port + ",127.0.0.1:" + s.getLocalPort()); // one of two answers
        }
    }

    @Test
    void aFailedJobIsTheTasksOwnErrorInOneLine() {
        String stage = "Job aborted due to stage failure: Task 0 in stage 1.0 failed 4 times, most recent failure: Lost task 0.3 in stage 1.0 "
                + "(TID 7) (127.0.0.1 executor 0): java.lang.IllegalStateException: shapes differ\n\tat dev.mnv3.X.y(X.java:1)\n";
        assertEquals("the Spark job failed: java.lang.IllegalStateException: shapes differ",
                SparkSetup.describe(new RuntimeException(stage)));
        String old = "dev/mnv3/spark/PartitionInference has been compiled by a more recent version of the Java Runtime (class file "
                + "version 69.0), this version of the Java Runtime only recognizes class file versions up to 61.0";
        String line = SparkSetup.describe(new RuntimeException("Job aborted", new UnsupportedClassVersionError(old)));
        assertTrue(line.startsWith("the Spark executors run Java 17, mnv3 needs Java 25 or newer on every Worker"), line);
    }
}
