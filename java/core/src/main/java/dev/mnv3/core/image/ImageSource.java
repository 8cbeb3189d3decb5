package dev.mnv3.core.image;

import java.nio.file.Path;
import java.util.Objects;

/**
 * An encoded image (JPEG, PNG, WebP, BMP or GIF) and the name that messages about it use: a file, or
 * bytes already in memory (a request body, a record of a dataset).
 */
public sealed interface ImageSource {
    /** How errors and results name the image: the path as given, or the name the bytes came with. */
    String name();

    static ImageSource of(Path file) {
        return new File(file);
    }

    static ImageSource of(String name, byte[] encoded) {
        return new Bytes(name, encoded);
    }

    record File(Path path) implements ImageSource {
        public File {
            Objects.requireNonNull(path, "path");
        }

        @Override
        public String name() {
            return path.toString();
        }
    }

    record Bytes(String name, byte[] data) implements ImageSource {
        public Bytes {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(data, "data");
        }

        @Override
        public String toString() {
            return "Bytes[" + name + ", " + data.length + " bytes]";
        }
    }
}
