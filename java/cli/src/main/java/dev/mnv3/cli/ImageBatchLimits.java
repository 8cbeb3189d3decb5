package dev.mnv3.cli;

import dev.mnv3.core.image.PreprocessingStage;

/**
 * The ranges of {@code --batch} and {@code --decode-threads} that {@code classify} and
 * {@code batch} (the spark module) share. The options stay declared in each command: their defaults
 * differ (classify decodes on every processor, batch on one thread per Spark task, as Spark runs a
 * task per core) and so does their help, which a picocli mixin, one default and one description
 * per option, cannot carry.
 */
public final class ImageBatchLimits {
    /** The most images one model run takes. */
    public static final int MAX_BATCH = 1024;

    private ImageBatchLimits() {
    }

    /** Refuses a {@code --batch} out of range, as a {@link Main.UserError}. */
    public static void checkBatch(int batch) {
        if (batch < 1 || batch > MAX_BATCH) throw new Main.UserError("--batch must be from 1 to " + MAX_BATCH + ", got " + batch);
    }

    /** Refuses a {@code --decode-threads} out of range, as a {@link Main.UserError}. */
    public static void checkDecodeThreads(int decodeThreads) {
        if (decodeThreads < 0 || decodeThreads > PreprocessingStage.MAX_THREADS) {
            throw new Main.UserError("--decode-threads must be from 0 (all available processors) to " + PreprocessingStage.MAX_THREADS
                    + ", got " + decodeThreads);
        }
    }
}
