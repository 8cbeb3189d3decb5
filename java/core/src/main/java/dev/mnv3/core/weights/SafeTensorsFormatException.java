package dev.mnv3.core.weights;

import java.nio.file.Path;

/** A file that is not a valid safetensors file; the message names the file and the problem. */
public class SafeTensorsFormatException extends CheckpointFormatException {
    public SafeTensorsFormatException(Path file, String problem) {
        super(file, "not a valid safetensors file: " + problem);
    }
}
