package dev.mnv3.core.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchResultsTest {
    @TempDir
    Path tmp;

    private static Map<String, Object> m(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    private static final BenchResults RESULTS = new BenchResults("t", "mnv3 bench", "2026-01-01T00:00:00Z",
            m("cpu", "AMD EPYC", "gpu", null),
            List.of(m("engine", "mnv3", "model", "a,b", "batch", 8L, "images_per_second", 123.5, "p50_ms", 2.0),
                    m("engine", "peer", "batch", 1L, "error", "said \"no\"\nthen stopped")));

    @Test
    void csvQuotesWhatRfc4180SaysAndLeavesAbsentFieldsEmpty() {
        assertEquals("engine,model,batch,images_per_second,p50_ms,error\r\n"
                + "mnv3,\"a,b\",8,123.5,2,\r\n"
                + "peer,,1,,,\"said \"\"no\"\"\nthen stopped\"\r\n", RESULTS.toCsv());
    }

    @Test
    void jsonReadsBackAsWritten() {
        BenchResults back = BenchResults.parse(RESULTS.toJson());
        assertEquals(RESULTS, back);
        assertEquals(List.of("mnv3", "peer"), back.engines());
        assertEquals(1, back.succeeded().size());
    }

    @Test
    void readingNamesWhatIsWrong() {
        String bad = RESULTS.toJson().replace("\"batch\" : 8", "\"batch\" : 0");
        assertEquals("measurement 1: \"batch\" must be at least 1",
                assertThrows(IllegalArgumentException.class, () -> BenchResults.parse(bad)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BenchResults.parse("{\"format\": \"other\"}"))
                .getMessage().startsWith("not mnv3 benchmark results"));
        String noRate = RESULTS.toJson().replace("\"images_per_second\" : 123.5,", "");
        assertEquals("measurement 1: \"images_per_second\" must be a number, found null",
                assertThrows(IllegalArgumentException.class, () -> BenchResults.parse(noRate)).getMessage());
    }

    @Test
    void aReportDirectoryHoldsNothingButTheReport() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("r"));
        Files.writeString(dir.resolve(".results.json.4242.1.mnv3-tmp"), "left by a stopped write");
        ReportDirectory.check(dir).write(ReportDirectory.JSON, "{}");
        ReportDirectory checked = ReportDirectory.check(dir);
        checked.write(ReportDirectory.JSON, "{ }"); // its own file: replaced
        assertEquals("{ }", Files.readString(dir.resolve("results.json")));
        Files.writeString(dir.resolve("mine.txt"), "");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ReportDirectory.check(dir)).getMessage()
                .contains("holds other files (mine.txt)"));
        assertThrows(IllegalArgumentException.class, () -> checked.write("mine.txt", ""), "only the report's files");
    }
}
