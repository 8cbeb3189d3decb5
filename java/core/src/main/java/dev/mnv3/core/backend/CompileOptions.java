package dev.mnv3.core.backend;

/**
 * Options every backend understands.
 *
 * @param threads CPU threads to use; 0 means all available processors
 */
public record CompileOptions(int threads) {
    public CompileOptions {
        if (threads < 0) throw new IllegalArgumentException("threads must be >= 0, got " + threads);
    }

    public static CompileOptions defaults() {
        return new CompileOptions(0);
    }

    public int resolvedThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
