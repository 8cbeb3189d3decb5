package dev.mnv3.core.tensor;

/** A request that would not fit in memory or in a Java array; the message names what and how much. */
public class MemoryLimitException extends IllegalArgumentException {
    public MemoryLimitException(String message) {
        super(message);
    }
}
