package dev.mnv3.core.image;

import dev.mnv3.core.Arguments;
import dev.mnv3.core.tensor.Tensor;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Decoding and preprocessing as a stage of its own, between encoded images and a model: a
 * bounded pool of decode threads turns images into network input, one image per task
 * ({@link BatchDecoder}), so that a batch decodes on every core and the next batch decodes while
 * the model runs this one ({@link #batches}). It knows no model: the application layer runs its
 * batches (dev.mnv3.api.ImageBatches), for {@code mnv3 classify}, the image classifier and the Spark job.
 *
 * <p>Results are those of {@link ImageDecoder#preprocess} on one thread, image for image and in
 * order: each image's crop depends on nothing but the image. Memory stays bounded however many
 * threads decode: decodes share {@link ImageDecoder#decodeBudget()}, and {@link #batches} holds
 * two batches (the one the caller has and the one decoding).
 *
 * <p>A failure of one image never fails the batch: its {@link Outcome} holds the error, and the
 * caller decides (stop, or skip it as {@code classify --lenient} does).
 */
public final class PreprocessingStage implements AutoCloseable {
    /** What a batch holds for the model. */
    public enum Form {
        /** Float crops [N, 3, crop, crop], preprocessed here: what a CPU backend takes. */
        PREPROCESSED,
        /**
         * Whole images as U8 [N, H, W, 3] when every image of the batch decoded to one size, for a
         * model that preprocesses them itself (a compiled model's {@code runImages}: the CUDA
         * backend uploads a quarter of the bytes and resizes on the GPU); float crops otherwise.
         */
        RAW_WHEN_SAME_SIZE
    }

    /**
     * What became of one image: {@code row} is its row in the batch's input (-1 when it did not
     * decode, and then {@code error} says why); {@code damage} lists what is wrong with an image
     * that decoded regardless (corrupt JPEG data, a PNG chunk failing its CRC).
     */
    public record Outcome(ImageSource source, int row, List<String> damage, Throwable error) {
        public boolean decoded() {
            return error == null;
        }
    }

    /**
     * A batch ready for a model: {@code input} holds the images that decoded, in order (null when
     * none did), {@code images} what became of each image, and {@code first} the position of the
     * first of them in the whole list.
     */
    public record Batch(int first, List<Outcome> images, Tensor input, Preprocessing preprocessing) {
        /** How many images decoded: the rows of {@link #input}. */
        public int decodedCount() {
            return input == null ? 0 : input.dim(0);
        }
    }

    /** The most batches that {@link #batches} decodes ahead of the caller. */
    static final int AHEAD = 1;

    private final Preprocessing preprocessing;
    private final int threads;
    private final ExecutorService pool;
    private final BatchDecoder decoder;

    /** A stage with {@code threads} decode threads (0: one per available processor), within {@link ImageLimits#DEFAULTS}. */
    public PreprocessingStage(Preprocessing preprocessing, int threads) {
        this(preprocessing, threads, ImageLimits.DEFAULTS);
    }

    /** A stage with {@code threads} decode threads (0: one per available processor), each image decoded within {@code limits}. */
    public PreprocessingStage(Preprocessing preprocessing, int threads, ImageLimits limits) {
        Arguments.notNull(preprocessing, "preprocessing", Preprocessing.WHAT);
        Arguments.notNull(limits, "limits", ImageLimits.WHAT);
        if (threads < 0 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("decode threads must be from 0 (all available processors) to " + MAX_THREADS
                    + ", got " + threads);
        }
        this.preprocessing = preprocessing;
        this.threads = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(this.threads, r -> {
            Thread t = new Thread(r, "mnv3-decode-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.decoder = new BatchDecoder(preprocessing, pool, limits);
    }

    /** The most decode threads a stage takes. */
    public static final int MAX_THREADS = 256;

    public Preprocessing preprocessing() {
        return preprocessing;
    }

    public int threads() {
        return threads;
    }

    /** Decodes and preprocesses {@code images} on the pool into one float batch, in order, and waits for it. */
    public Batch preprocess(List<ImageSource> images) {
        return decode(images, Form.PREPROCESSED);
    }

    /** As {@link #preprocess(List)}, in the given form. */
    public Batch decode(List<ImageSource> images, Form form) {
        return join(decoder.submit(checkSources(images), 0, checkForm(form)));
    }

    private static List<ImageSource> checkSources(List<ImageSource> images) {
        Arguments.noNulls(images, "images", ImageSource.WHAT);
        return images;
    }

    private static Form checkForm(Form form) {
        return Arguments.notNull(form, "form", "a Form, e.g. ImageBatches.formFor(model)");
    }

    /** A raw batch U8 [N, H, W, 3] preprocessed on the pool, one image per task: {@link Preprocessing#apply(Tensor)}'s values. */
    public Tensor preprocess(Tensor images) {
        int[] s = Preprocessing.checkImages(images);
        int crop = preprocessing.crop(), per = 3 * crop * crop;
        Tensor out = Tensor.zeros(s[0], 3, crop, crop);
        byte[] data = images.bytes();
        long stride = 3L * s[1] * s[2];
        List<CompletableFuture<Void>> tasks = new ArrayList<>();
        for (int i = 0; i < s[0]; i++) {
            int image = i;
            tasks.add(CompletableFuture.runAsync(() -> {
                try {
                    preprocessing.applyInto(new Preprocessing.HwcImage(data, image * stride, s[2], s[1]), out.data(), image * per);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e); // in memory: it does not fail
                }
            }, pool));
        }
        join(CompletableFuture.allOf(tasks.toArray(CompletableFuture[]::new)));
        return out;
    }

    /**
     * The images {@code batchSize} at a time, in order, each batch decoding on the pool while the
     * caller works on the one before (decoding is at most {@link #AHEAD} batch ahead). The
     * iterator's {@code next} waits for its batch.
     */
    public Iterator<Batch> batches(List<ImageSource> images, int batchSize, Form form) {
        if (batchSize < 1) throw new IllegalArgumentException("batchSize is " + batchSize + ", expected >= 1");
        return new Batches(List.copyOf(checkSources(images)), batchSize, checkForm(form));
    }

    /** The batches of a list of images, each submitted to the pool {@link #AHEAD} batch before the caller asks for it. */
    final class Batches implements Iterator<Batch> {
        private final List<ImageSource> all;
        private final int batchSize;
        private final Form form;
        private final ArrayDeque<CompletableFuture<Batch>> pending = new ArrayDeque<>();
        private int submitted;

        Batches(List<ImageSource> all, int batchSize, Form form) {
            this.all = all;
            this.batchSize = batchSize;
            this.form = form;
        }

        @Override
        public boolean hasNext() {
            return !pending.isEmpty() || submitted < all.size();
        }

        @Override
        public Batch next() {
            if (!hasNext()) throw new NoSuchElementException();
            if (pending.isEmpty()) submitNext();
            CompletableFuture<Batch> head = pending.poll();
            // the batch after this one decodes while the caller has it: the caller's batch and the
            // one decoding are all a run holds (and one the caller let go of)
            while (pending.size() < AHEAD && submitted < all.size()) submitNext();
            return join(head);
        }

        /** How many images have gone to the pool. */
        int submitted() {
            return submitted;
        }

        private void submitNext() {
            int to = Math.min(all.size(), submitted + batchSize);
            pending.add(decoder.submit(all.subList(submitted, to), submitted, form));
            submitted = to;
        }
    }

    /** Stops the decode threads; batches still decoding are abandoned. */
    @Override
    public void close() {
        pool.shutdownNow();
    }

    /** The value of a future; what its task threw, as it was thrown. */
    private static <T> T join(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error r) throw r;
            throw e;
        }
    }
}
