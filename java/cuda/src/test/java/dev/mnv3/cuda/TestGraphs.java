package dev.mnv3.cuda;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.testing.ShippedModels;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/** The network variants every plan and GPU test runs over. */
final class TestGraphs {
    private TestGraphs() {
    }

    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of("large", MobileNetV3Config.large()),
                Arguments.of("small", MobileNetV3Config.small()),
                Arguments.of("large width 0.75", MobileNetV3Config.large().withWidth(0.75)),
                Arguments.of("large dilated", MobileNetV3Config.large().withDilated(true)),
                Arguments.of("small reduced tail", MobileNetV3Config.small().withReducedTail(true)),
                Arguments.of("small minimalistic, 10 classes", MobileNetV3Config.small().withMinimalistic(true).withClasses(10)),
                Arguments.of("seed-large (bias-free Linear SE of exp/4)", ShippedModels.seedLarge()));
    }
}
