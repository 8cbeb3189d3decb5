package dev.mnv3.core.image;

import dev.mnv3.core.image.PreprocessingStage.Batch;
import dev.mnv3.core.image.PreprocessingStage.Form;
import dev.mnv3.core.image.PreprocessingStage.Outcome;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;

/**
 * Decodes one batch of a {@link PreprocessingStage} on its pool: a task per image, each writing
 * its own row, then the batch assembled from their results in order. An image that fails leaves
 * its error in its {@link Outcome} and no row.
 */
final class BatchDecoder {
    private final Preprocessing preprocessing;
    private final ExecutorService pool;
    private final ImageLimits limits;

    BatchDecoder(Preprocessing preprocessing, ExecutorService pool, ImageLimits limits) {
        this.preprocessing = preprocessing;
        this.pool = pool;
        this.limits = limits;
    }

    /** The batch of {@code images}, the first of them at position {@code first} of the whole list, decoding on the pool. */
    CompletableFuture<Batch> submit(List<ImageSource> images, int first, Form form) {
        return form == Form.PREPROCESSED ? submitPreprocessed(images, first) : submitRaw(images, first);
    }

    /** One task per image, each writing its crop into its row of one tensor. */
    private CompletableFuture<Batch> submitPreprocessed(List<ImageSource> images, int first) {
        int crop = preprocessing.crop(), per = 3 * crop * crop;
        Tensor crops = Tensor.zeros(images.size(), 3, crop, crop);
        List<CompletableFuture<Decoded>> tasks = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            ImageSource source = images.get(i);
            int offset = i * per;
            tasks.add(CompletableFuture.supplyAsync(() -> decoded(source, () -> ImageDecoder.preprocess(source, preprocessing,
                    crops.data(), offset, limits)), pool));
        }
        return CompletableFuture.allOf(tasks.toArray(CompletableFuture[]::new))
                .thenApply(v -> floatBatch(first, images, crops, tasks.stream().map(CompletableFuture::join).toList()));
    }

    /** Whole images first; if they are not all of one size, their crops (decoded anew only for an image too large to hold whole). */
    private CompletableFuture<Batch> submitRaw(List<ImageSource> images, int first) {
        List<CompletableFuture<Optional<ImageDecoder.RawImage>>> wholes = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>(Collections.nCopies(images.size(), null));
        for (int i = 0; i < images.size(); i++) {
            ImageSource source = images.get(i);
            int at = i;
            wholes.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return ImageDecoder.decodeRaw(source, limits);
                } catch (Throwable e) {
                    synchronized (errors) {
                        errors.set(at, failure(e));
                    }
                    return Optional.empty();
                }
            }, pool));
        }
        return CompletableFuture.allOf(wholes.toArray(CompletableFuture[]::new)).thenCompose(v -> {
            List<Optional<ImageDecoder.RawImage>> raw = wholes.stream().map(CompletableFuture::join).toList();
            ImageDecoder.RawImage one = null;
            boolean sameSize = true;
            for (int i = 0; i < raw.size(); i++) {
                if (errors.get(i) != null) continue;
                if (raw.get(i).isEmpty()) {
                    sameSize = false; // too large to hold whole: its crop is decoded from the region it needs
                    break;
                }
                ImageDecoder.RawImage r = raw.get(i).get();
                if (one == null) one = r;
                else if (r.width() != one.width() || r.height() != one.height()) sameSize = false;
            }
            if (sameSize) return CompletableFuture.completedFuture(rawBatch(first, images, raw, errors, one));
            int crop = preprocessing.crop(), per = 3 * crop * crop;
            Tensor crops = Tensor.zeros(images.size(), 3, crop, crop);
            List<CompletableFuture<Decoded>> tasks = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                ImageSource source = images.get(i);
                Throwable error = errors.get(i);
                Optional<ImageDecoder.RawImage> whole = raw.get(i);
                int offset = i * per;
                tasks.add(CompletableFuture.supplyAsync(() -> {
                    if (error != null) return new Decoded(List.of(), error);
                    if (whole.isEmpty()) return decoded(source, () -> ImageDecoder.preprocess(source, preprocessing, crops.data(), offset,
                            limits));
                    ImageDecoder.RawImage r = whole.get();
                    return decoded(source, () -> {
                        preprocessing.applyInto(new Preprocessing.HwcImage(r.rgb(), 0, r.width(), r.height()), crops.data(), offset);
                        return r.damage();
                    });
                }, pool));
            }
            return CompletableFuture.allOf(tasks.toArray(CompletableFuture[]::new))
                    .thenApply(w -> floatBatch(first, images, crops, tasks.stream().map(CompletableFuture::join).toList()));
        });
    }

    /** One image's result: its damage, or why it failed. */
    private record Decoded(List<String> damage, Throwable error) {
    }

    private interface Decode {
        List<String> run() throws IOException;
    }

    private static Decoded decoded(ImageSource source, Decode decode) {
        try {
            return new Decoded(List.copyOf(decode.run()), null);
        } catch (Throwable e) {
            return new Decoded(List.of(), failure(e));
        }
    }

    /** What a decode task reports: its own exception, with a missing java.desktop (a jlinked runtime) said plainly. */
    private static Throwable failure(Throwable e) {
        if (e instanceof LinkageError) {
            return new UnsupportedOperationException("this Java runtime has no java.desktop module, which decoding images needs", e);
        }
        return e;
    }

    /** The batch from crops written row by row: rows of images that failed are dropped, the rest keep their order. */
    private Batch floatBatch(int first, List<ImageSource> images, Tensor crops, List<Decoded> results) {
        int per = crops.size() / Math.max(1, images.size());
        List<Outcome> outcomes = new ArrayList<>(images.size());
        float[] data = crops.data();
        int rows = 0;
        for (int i = 0; i < images.size(); i++) {
            Decoded d = results.get(i);
            if (d.error() != null) {
                outcomes.add(new Outcome(images.get(i), -1, List.of(), d.error()));
                continue;
            }
            if (rows != i) System.arraycopy(data, i * per, data, rows * per, per);
            outcomes.add(new Outcome(images.get(i), rows++, d.damage(), null));
        }
        Tensor input = rows == 0 ? null : rows == images.size() ? crops
                : new Tensor(new int[] {rows, 3, preprocessing.crop(), preprocessing.crop()}, Arrays.copyOf(data, rows * per));
        return new Batch(first, outcomes, input, preprocessing);
    }

    /** The batch U8 [N, H, W, 3] of whole images that all have one size. */
    private Batch rawBatch(int first, List<ImageSource> images, List<Optional<ImageDecoder.RawImage>> raw, List<Throwable> errors,
            ImageDecoder.RawImage one) {
        List<Outcome> outcomes = new ArrayList<>(images.size());
        if (one == null) {
            for (int i = 0; i < images.size(); i++) outcomes.add(new Outcome(images.get(i), -1, List.of(), errors.get(i)));
            return new Batch(first, outcomes, null, preprocessing);
        }
        int decoded = (int) raw.stream().filter(Optional::isPresent).count();
        int per = one.rgb().length;
        byte[] data = new byte[MemoryBudget.arrayLength((long) decoded * per,
                "a batch of " + decoded + " images " + one.width() + "x" + one.height())];
        int rows = 0;
        for (int i = 0; i < images.size(); i++) {
            if (errors.get(i) != null) {
                outcomes.add(new Outcome(images.get(i), -1, List.of(), errors.get(i)));
                continue;
            }
            ImageDecoder.RawImage r = raw.get(i).get();
            System.arraycopy(r.rgb(), 0, data, rows * per, per);
            outcomes.add(new Outcome(images.get(i), rows++, List.copyOf(r.damage()), null));
        }
        return new Batch(first, outcomes, Tensor.ofBytes(new int[] {rows, one.height(), one.width(), 3}, data), preprocessing);
    }
}
