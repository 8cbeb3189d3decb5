package dev.mnv3.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mnv3.api.Classification;
import dev.mnv3.api.Classifications;
import dev.mnv3.api.ClassifierOptions;
import dev.mnv3.api.ImageClassifier;
import dev.mnv3.core.Json;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.RandomWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java API and {@code mnv3 classify} give the same classes and probabilities for the same real images. */
class ApiParityTest {
    private static final Path PICTURES = Path.of("../core/src/test/resources/dev/mnv3/core/image/ImageDecoderFuzzTestInputs/"
            + "decodesOrNamesTheFile");

    @TempDir
    Path dir;

    @Test
    @SuppressWarnings("unchecked")
    void classifyFromJavaPrintsWhatTheCommandWrites() throws Exception {
        Path weights = dir.resolve("small.safetensors"), out = dir.resolve("top.jsonl");
        RandomWeights.generate(Graph.of(MobileNetV3Config.small()), 5).save(weights, Map.of());
        List<Path> images = List.of(PICTURES.resolve("rgb.jpg"), PICTURES.resolve("palette.png"));
        Cli r = Cli.run("classify", "--model", "small", "--backend", "cpu", "--threads", "1", "--weights", weights.toString(),
                "--top", "5", "--output", out.toString(), images.get(0).toString(), images.get(1).toString());
        assertEquals(0, r.exitCode(), r.toString());
        List<String> lines = Files.readAllLines(out);
        try (ImageClassifier classifier = ImageClassifier.open(weights, ClassifierOptions.defaults().withBackend("cpu").withThreads(1))) {
            List<Classifications> results = classifier.classify(images);
            for (int i = 0; i < images.size(); i++) {
                Map<String, Object> line = (Map<String, Object>) Json.parse(lines.get(i));
                assertEquals(images.get(i).toString(), line.get("file"));
                List<Object> top = Json.array(line.get("top"), "top");
                List<Classification> api = results.get(i).topK(5);
                assertEquals(top.size(), api.size());
                for (int k = 0; k < api.size(); k++) {
                    Map<String, Object> c = Json.object(top.get(k), "class");
                    assertEquals(Json.intValue(c.get("class"), "class"), api.get(k).index(), images.get(i) + " rank " + k);
                    assertEquals(c.get("label"), api.get(k).label());
                    // the command writes 6 significant digits: the API's probability must print the same
                    assertEquals(lines.get(i).split("\"probability\": ")[k + 1].split("}")[0],
                            String.format(Locale.ROOT, "%.6g", api.get(k).probability()), images.get(i) + " rank " + k);
                }
            }
        }
    }
}
