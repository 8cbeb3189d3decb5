package dev.mnv3.core.testing;

import dev.mnv3.core.MobileNetV3Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The table files the repository ships in models/, as the tests of every module read them. */
public final class ShippedModels {
    private ShippedModels() {
    }

    public static Path seedLargeFile() {
        return TorchReference.repositoryRoot().resolve("models/seed-large.json");
    }

    /** models/seed-large.json: the community MobileNetV3-Large that tools/reference/seed_large.py builds. */
    public static MobileNetV3Config seedLarge() {
        try {
            return MobileNetV3Config.fromJson(seedLargeFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
