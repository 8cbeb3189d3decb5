package dev.mnv3.cli;

import dev.mnv3.core.image.Preprocessing;
import picocli.CommandLine.Option;

/**
 * How images are resized and cropped ({@code --resize}, {@code --crop}; classify, batch, serve's image inputs):
 * torchvision's evaluation transform. A picocli mixin.
 */
public final class PreprocessingOptions {
    @Option(names = "--resize", paramLabel = "S", defaultValue = "256",
            description = "Shorter side before the crop: 256 for torchvision's V1 weights, 232 for its V2 Large weights (default: ${DEFAULT-VALUE}).")
    int resize;

    @Option(names = "--crop", paramLabel = "C", defaultValue = "224", description = "Center crop size (default: ${DEFAULT-VALUE}).")
    int crop;

    /** The preprocessing the options describe; a bad size is a {@link Main.UserError}. */
    public Preprocessing preprocessing() {
        try {
            return new Preprocessing(resize, crop);
        } catch (IllegalArgumentException e) {
            throw new Main.UserError("--resize and --crop: " + e.getMessage());
        }
    }
}
