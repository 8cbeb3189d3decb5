package dev.mnv3.core.image;

import dev.mnv3.core.Arguments;
import dev.mnv3.core.io.FileNames;
import java.nio.file.Path;

/**
 * An encoded image (JPEG, PNG, WebP, BMP or GIF) and the name that messages about it use: a file, or
 * bytes already in memory (a request body, a record of a dataset).
 */
public sealed interface ImageSource {
    /** How errors and results name the image: the path as given (bytes that are not UTF-8 escaped), or the name the bytes came with. */
    String name();

    /** What an image source argument is, for messages. */
    String WHAT = "an ImageSource, e.g. ImageSource.of(path)";

    static ImageSource of(Path file) {
        return new File(file);
    }

    static ImageSource of(String name, byte[] encoded) {
        return new Bytes(name, encoded);
    }

    record File(Path path) implements ImageSource {
        public File {
            Arguments.notNull(path, "path", "the path of an image file");
        }

        /** The path as given, any byte of it that is not UTF-8 escaped ({@link FileNames#display}). */
        @Override
        public String name() {
            return FileNames.display(path);
        }
    }

    record Bytes(String name, byte[] data) implements ImageSource {
        public Bytes {
            Arguments.notNull(name, "name", "the name messages give the image");
            Arguments.notNull(data, "data", "the bytes of an encoded image");
        }

        @Override
        public String toString() {
            return "Bytes[" + name + ", " + data.length + " bytes]";
        }
    }
}
