package dev.mnv3.core.weights;

import java.io.IOException;
import java.nio.file.Path;

/** A file that is not a checkpoint mnv3 reads, or is a damaged or hostile one; the message names the file and the problem. */
public class CheckpointFormatException extends IOException {
    public CheckpointFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
