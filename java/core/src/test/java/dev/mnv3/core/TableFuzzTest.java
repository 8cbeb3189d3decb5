package dev.mnv3.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mnv3.core.graph.Graph;
import java.nio.charset.StandardCharsets;

/**
 * Any text given as a JSON table either builds a network whose sizes and counts are exact, or
 * fails with one IllegalArgumentException naming the problem: never an overflow, a negative
 * count or another exception. Runs its saved inputs in every build; fuzzes with JAZZER_FUZZ=1.
 */
class TableFuzzTest {
    @FuzzTest(maxDuration = "30s")
    @DictionaryEntries({"\"blocks\": [", "\"kernel\": ", "\"exp\": ", "\"out\": ", "\"se\": true", "\"act\": \"HS\"",
            "\"stride\": 2", "\"dilation\": ", "\"stem\": ", "\"last_channel\": ", "\"name\": ", "65536", "2147483647"})
    void buildsOrRejects(byte[] input) {
        // the text, then two bytes for the input size 1..65536 (byte[] inputs, unlike FuzzedDataProvider, seed from files)
        int n = Math.max(0, input.length - 2);
        int size = input.length < 2 ? 224 : 1 + ((input[n] & 0xff) << 8 | (input[n + 1] & 0xff));
        String text = new String(input, 0, n, StandardCharsets.UTF_8);
        MobileNetV3Config config;
        Graph graph;
        try {
            config = MobileNetV3Config.fromJson(Json.parse(text), "fuzz");
            graph = Graph.of(config);
        } catch (IllegalArgumentException expected) {
            return;
        }
        assertTrue(graph.params() > 0, "parameters " + graph.params());
        try {
            assertTrue(graph.macs(size, size) > 0);
            assertTrue(graph.peakActivationFloats(size, size) > 0);
        } catch (IllegalArgumentException tooSmallOrTooLarge) {
            // an input size the network refuses, or counts beyond 2^63: said, not wrapped
        }
    }
}
