package dev.mnv3.cli;

import picocli.CommandLine.Option;

/** The input size option shared by the commands that build their own input. */
final class SizeOption {
    @Option(names = "--size", paramLabel = "HxW", defaultValue = "224x224", converter = Sizes.Converter.class,
            description = "Input height x width, or one number for a square (default: ${DEFAULT-VALUE}).")
    private Sizes value;

    int height() {
        return value.height();
    }

    int width() {
        return value.width();
    }

    @Override
    public String toString() {
        return value.toString();
    }
}
