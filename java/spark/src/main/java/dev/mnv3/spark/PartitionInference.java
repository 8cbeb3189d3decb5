package dev.mnv3.spark;

import dev.mnv3.api.ImageBatches;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.image.ImageDecodeException;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.PreprocessingStage;
import dev.mnv3.core.tensor.Tensor;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.util.LongAccumulator;

/**
 * One task's images: read from its rows a window at a time, decoded and preprocessed by a
 * {@link PreprocessingStage} (the next batch decodes while the model runs this one), run through
 * this executor's model in batches, and given back as the input rows with the result columns.
 * Every input row gives one output row, in order: an image that is missing or does not decode
 * gets its {@code error} instead of results.
 */
final class PartitionInference implements MapPartitionsFunction<Row, Row> {
    /** Batches read from the rows at a time: bounds the encoded bytes a task holds when the rows carry them. */
    private static final int WINDOW_BATCHES = 16;

    private final InferenceSpec spec;
    private final ImageColumn input;
    private final LongAccumulator images, errors;

    PartitionInference(InferenceSpec spec, ImageColumn input, LongAccumulator images, LongAccumulator errors) {
        this.spec = spec;
        this.input = input;
        this.images = images;
        this.errors = errors;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        TaskContext task = TaskContext.get();
        int asked = spec.options().cuda().device();
        int device = Backends.named(spec.backend()).usesDevices() ? TaskDevice.of(task, asked) : asked;
        CompiledModel model = ExecutorModels.get(spec, device);
        PreprocessingStage stage = new PreprocessingStage(spec.preprocessing(), spec.decodeThreads());
        if (task != null) task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) t -> stage.close());
        PreprocessingStage.Form form = spec.columns().features() ? PreprocessingStage.Form.PREPROCESSED
                : ImageBatches.formFor(model);
        return new Iterator<>() {
            private Iterator<Row> done = List.<Row>of().iterator();

            @Override
            public boolean hasNext() {
                while (!done.hasNext() && rows.hasNext()) done = window(rows, model, stage, form).iterator();
                if (!done.hasNext()) stage.close();
                return done.hasNext();
            }

            @Override
            public Row next() {
                if (!hasNext()) throw new NoSuchElementException();
                return done.next();
            }
        };
    }

    /** The next window of rows, run, in order. */
    private List<Row> window(Iterator<Row> rows, CompiledModel model, PreprocessingStage stage, PreprocessingStage.Form form) {
        List<Row> in = new ArrayList<>();
        List<ImageSource> sources = new ArrayList<>();
        List<Integer> rowOfSource = new ArrayList<>();
        List<Row> out = new ArrayList<>();
        while (rows.hasNext() && in.size() < spec.batch() * WINDOW_BATCHES) {
            Row r = rows.next();
            out.add(null);
            try {
                sources.add(input.source(r));
                rowOfSource.add(in.size());
            } catch (IOException | RuntimeException e) {
                out.set(in.size(), failed(r, describe(input.name(r), e)));
            }
            in.add(r);
        }
        int s = 0; // the sources come back from the batches in order
        for (Iterator<PreprocessingStage.Batch> it = stage.batches(sources, spec.batch(), form); it.hasNext(); ) {
            PreprocessingStage.Batch b = it.next();
            Results results = run(b, model);
            for (PreprocessingStage.Outcome o : b.images()) {
                int i = rowOfSource.get(s++);
                out.set(i, result(in.get(i), o, results, model.graph().numClasses()));
            }
        }
        if (images != null) images.add(in.size());
        return out;
    }

    /** A batch's logits [decoded, classes] and pooled features [decoded, width] (null when not asked for, or nothing decoded). */
    private record Results(float[] logits, float[] features, int width) {
    }

    private Results run(PreprocessingStage.Batch b, CompiledModel model) {
        if (b.input() == null) return new Results(null, null, 0);
        if (!spec.columns().features()) return new Results(ImageBatches.run(b, model).data(), null, 0);
        Map<String, Tensor> trace = model.trace(b.input());
        Tensor pooled = trace.get("avgpool"); // [N, C, 1, 1]: the global average pool before the classifier
        return new Results(trace.get(model.graph().outputNode()).data(), pooled.data(), pooled.dim(1));
    }

    private Row result(Row row, PreprocessingStage.Outcome o, Results r, int classes) {
        if (!o.decoded()) return failed(row, describe(o.source().name(), o.error()));
        if (!o.damage().isEmpty()) return failed(row, o.source().name() + " is damaged: " + String.join("; ", o.damage()));
        return spec.columns().ran(row, r.logits(), o.row(), classes, r.features(), r.width());
    }

    private Row failed(Row row, String error) {
        if (errors != null) errors.add(1);
        return spec.columns().failed(row, error);
    }

    /** One line saying why an image was not run; JVM errors (out of memory) fail the task instead. */
    static String describe(String name, Throwable e) {
        return switch (e) {
            case Error err -> throw err;
            case ImageDecodeException d -> d.getMessage();
            case NoSuchFileException f -> "file not found: " + f.getFile();
            case AccessDeniedException f -> "permission denied: " + f.getFile();
            case IOException io -> "cannot read " + name + ": " + io.getMessage();
            default -> "cannot run " + name + ": " + e;
        };
    }
}
