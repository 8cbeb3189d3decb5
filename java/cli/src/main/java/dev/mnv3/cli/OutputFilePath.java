package dev.mnv3.cli;

import java.io.File;
import java.nio.file.Path;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The path of a file a command writes. {@code Path.of("X/")} is {@code X}, so a trailing separator,
 * which says the user meant a directory, must be refused before the conversion forgets it:
 * otherwise {@code --output results/} writes a file named {@code results}.
 */
final class OutputFilePath implements ITypeConverter<Path> {
    @Override
    public Path convert(String value) {
        if (value.endsWith("/") || value.endsWith(File.separator)) {
            throw new TypeConversionException("'" + value + "' ends with a separator, so it names a directory: give the file to write");
        }
        return RawArguments.path(value);
    }
}
