import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.RandomWeights;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes MobileNetV3-Small with random weights (seed 42) as safetensors, for run.sh: the repository
 * ships no trained checkpoint, so the example's classes mean nothing, but its path is the real one.
 * Run as a source file: java -cp CLASSPATH examples/RandomCheckpoint.java OUT.safetensors
 */
class RandomCheckpoint {
    public static void main(String[] args) throws Exception {
        RandomWeights.generate(Graph.of(MobileNetV3Config.small()), 42).save(Path.of(args[0]), Map.of());
    }
}
