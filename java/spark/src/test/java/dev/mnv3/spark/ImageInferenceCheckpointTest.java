package dev.mnv3.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mnv3.core.CheckpointLayout;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.core.weights.SafeTensorsWriter;
import dev.mnv3.core.weights.WeightNames;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A Spark job runs a checkpoint as it was trained: a timm file's model gets timm's BatchNorm eps, unless the config chose one. */
class ImageInferenceCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void aTimmFileRunsWithTimmsEps() throws Exception {
        Graph graph = Graph.of(MobileNetV3Config.small());
        Map<String, String> names = WeightNames.sourceNames(CheckpointLayout.TIMM, graph);
        Map<String, Tensor> timm = new LinkedHashMap<>();
        RandomWeights.generate(graph, 1).asMap().forEach((name, t) -> timm.put(names.get(name), t));
        Path file = dir.resolve("timm.safetensors");
        SafeTensorsWriter.write(file, timm, Map.of());

        MobileNetV3Config ran = ImageInference.builder(MobileNetV3Config.small(), file).build().config();
        assertEquals(1e-5, ran.bnEps());
        assertEquals(CheckpointLayout.TIMM, ran.layout());
        assertEquals(1e-4, ImageInference.builder(MobileNetV3Config.small().withBnEps(1e-4), file).build().config().bnEps());
    }
}
