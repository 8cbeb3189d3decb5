package dev.mnv3.cli;

import dev.mnv3.api.Classification;
import dev.mnv3.api.Classifications;
import dev.mnv3.api.ImageBatches;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.ImageDecodeException;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.image.PreprocessingStage;
import dev.mnv3.core.io.OutputFile;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.Checkpoint;
import dev.mnv3.core.weights.Weights;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "classify", mixinStandardHelpOptions = true, description = {
        "Classify images and print the top classes with their probabilities, or write them as JSON lines (--output).",
        "IMAGE is a file, a directory (its JPEG, PNG, WebP, BMP and GIF files, subdirectories included, in name order) or a "
                + "quoted glob ('photos/*.jpg'; ** crosses directories).",
        "Each image is decoded (colours as PIL converts them), its shorter side resized (antialiased bilinear), "
                + "center-cropped and normalized with the ImageNet mean and std, as torchvision's evaluation transform does. "
                + "Decoding runs on --decode-threads threads, one image per thread, and the next batch decodes while the "
                + "model runs this one; two batches of crops are held at a time, never every image. Results come in the "
                + "order of the images.",
        "A damaged file (corrupt or truncated JPEG, PNG failing its CRC) or one that does not decode is an error naming "
                + "it, unless --lenient. A progress bar goes to stderr when the images fill more than one batch.",
        "",
        "--output FILE.jsonl gets one JSON object per line and image, in order:",
        "  {\"file\": \"a.jpg\", \"top\": [{\"class\": 281, \"label\": \"tabby\",",
        "            \"probability\": 0.871300}, ...]}",
        "a damaged image classified under --lenient has a \"warning\" too, and an image skipped under --lenient is",
        "  {\"file\": \"b.jpg\", \"error\": \"cannot decode image b.jpg: ...\"}",
        "The file is replaced only when every image is done (written beside it, renamed into place; never an input), "
                + "and stdout gets one line with the counts and the throughput, decoding included, and the time from the JVM's "
                + "start to the first result (without --output, that line goes to stderr). When a file stops the run (without "
                + "--lenient), the lines done before it are kept in FILE.jsonl.partial and the error says so.",
        ""})
final class ClassifyCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    BackendOptions backend;

    @Option(names = "--weights", required = true, paramLabel = "W", description = "Trained weights: " + CheckpointOptions.WEIGHTS_FILES)
    Path weights;

    @Mixin
    CheckpointOptions checkpoint;

    @Mixin
    PreprocessingOptions preprocessingOptions;

    @Option(names = "--top", paramLabel = "K", defaultValue = "5", description = "How many classes to print (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "8", description = "Images per run (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--output", paramLabel = "FILE.jsonl", converter = OutputFilePath.class, description = "Write the results as JSON lines to this file "
            + "instead of printing them (see above).")
    Path output;

    @Option(names = "--decode-threads", paramLabel = "D", defaultValue = "0",
            description = "Threads decoding and preprocessing images, at most " + PreprocessingStage.MAX_THREADS
                    + " (default: all available processors).")
    int decodeThreads;

    @Option(names = "--preprocess", paramLabel = "auto|host|model", defaultValue = "auto",
            description = "Where images are resized and cropped: host (by the decode threads; float crops go to the model), "
                    + "model (whole images go to the model as U8, the CUDA backend preprocessing them on the GPU; a batch of "
                    + "images of several sizes is still preprocessed on the host), or auto: model for cuda, host otherwise "
                    + "(default: ${DEFAULT-VALUE}).")
    String preprocess;

    @Option(names = "--no-progress", description = "No progress bar on stderr.")
    boolean noProgress;

    @Option(names = "--lenient", description = "Classify damaged images as far as they decode, with a warning, and skip "
            + "files that fail (do not decode, cannot be read, are gone or are no regular file; with --output: an \"error\" "
            + "line), instead of stopping with an error.")
    boolean lenient;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "JPEG, PNG, WebP, BMP or GIF files, directories of them, or globs.")
    List<String> images;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ImageBatchLimits.checkBatch(batch);
        if (top < 1) throw new Main.UserError("--top must be >= 1, got " + top);
        ImageBatchLimits.checkDecodeThreads(decodeThreads);
        if (!List.of("auto", "host", "model").contains(preprocess)) {
            throw new Main.UserError("--preprocess must be auto, host or model, got '" + preprocess + "'");
        }
        Preprocessing prep = preprocessingOptions.preprocessing();
        List<Path> files = ImageInputs.expand(images, lenient ? line -> Main.warn(spec.commandLine().getErr(), line) : null);
        List<Path> inputs = new ArrayList<>(files);
        inputs.add(weights);
        if (model.file() != null) inputs.add(model.file());
        if (output != null) OutputFile.check(output, inputs); // before the work: a bad --output should not cost a run
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Graph graph;
        Weights w;
        try (Checkpoint c = checkpoint.open(weights, err)) {
            graph = Graph.of(model.configFor(c));
            graph.checkInput(new int[] {Math.min(batch, files.size()), Graph.INPUT_CHANNELS, prep.crop(), prep.crop()});
            w = c.weightsFor(graph);
        }
        NonFiniteValues nonFinite = new NonFiniteValues();
        nonFinite.check(err, weights + " holds", w.asMap());
        try (CompiledModel m = backend.resolve().compile(graph, w, backend.options());
             PreprocessingStage stage = new PreprocessingStage(prep, decodeThreads)) {
            PreprocessingStage.Form form = switch (preprocess) {
                case "model" -> PreprocessingStage.Form.RAW_WHEN_SAME_SIZE;
                case "host" -> PreprocessingStage.Form.PREPROCESSED;
                default -> ImageBatches.formFor(m);
            };
            List<ImageSource> sources = files.stream().map(ImageSource::of).toList();
            Progress progress = noProgress || files.size() <= batch ? null : new Progress(err, "classify");
            if (output == null) {
                Run r = classify(m, stage, sources, form, new TextResults(out, top, graph.numClasses()), progress, nonFinite, err);
                // the results own stdout; the summary goes beside the progress bar, unless stdout failed (then the
                // error, reported when the command ends, is the one line on stderr)
                if (out.checkError()) return 0;
                err.printf(java.util.Locale.ROOT, "classify: %,d images classified%s in %.2f s, %.1f images/s (decoding included; %s, batch %d, "
                                + "%d decode threads)%s%n", r.classified, r.skipped > 0 ? ", " + r.skipped + " skipped (--lenient)" : "",
                        r.seconds, r.classified / r.seconds, m.backend(), batch, stage.threads(), r.firstResult());
                err.flush();
                return 0;
            }
            Run[] run = new Run[1];
            JsonResults json = new JsonResults(new int[1], top, graph.numClasses());
            Path partial = output.resolveSibling(output.getFileName() + ".partial");
            try {
                OutputFile.write(output, inputs, partial, ch -> {
                    Writer writer = Channels.newWriter(ch, StandardCharsets.UTF_8);
                    try {
                        run[0] = classify(m, stage, sources, form, json.to(writer), progress, nonFinite, err);
                    } finally {
                        writer.flush(); // the lines so far: kept as the partial output when an image stops the run
                    }
                });
            } catch (OutputFile.PartialOutput e) {
                // the run stopped at a file: the lines already classified are not thrown away
                throw new Main.UserError(Main.describe(e.getCause()) + " (the " + json.lines[0] + " results before it are in "
                        + e.partial() + ")", e.getCause());
            }
            Run r = run[0];
            out.printf(java.util.Locale.ROOT, "wrote %s: %,d images classified%s in %.2f s, %.1f images/s (decoding included; %s, batch %d, %d decode "
                            + "threads)%s%n", output, r.classified, r.skipped > 0 ? ", " + r.skipped + " skipped (--lenient)" : "",
                    r.seconds, r.classified / r.seconds, m.backend(), batch, stage.threads(), r.firstResult());
            out.flush();
        }
        return 0;
    }

    /** What a run did; {@code firstSeconds}: the JVM's uptime when the first image's result was out (NaN without one). */
    private record Run(int classified, int skipped, double seconds, double firstSeconds) {
        /** The time to the first result, counted from the JVM's start (what a one-image run costs), or nothing without one. */
        String firstResult() {
            return Double.isNaN(firstSeconds) ? "" : String.format(java.util.Locale.ROOT, "; first result %.2f s after the JVM started",
                    firstSeconds);
        }
    }

    /** Where results go: printed, or written as JSON lines. */
    private interface Results {
        void classified(String file, float[] logits, int from, String warning) throws IOException;

        void failed(String file, String error) throws IOException;
    }

    private Run classify(CompiledModel m, PreprocessingStage stage, List<ImageSource> sources, PreprocessingStage.Form form,
                         Results results, Progress progress, NonFiniteValues nonFinite, PrintWriter err) throws IOException {
        long start = System.nanoTime();
        double first = Double.NaN;
        int classified = 0, skipped = 0, done = 0, k = m.graph().numClasses();
        try {
            for (Iterator<PreprocessingStage.Batch> it = stage.batches(sources, batch, form); it.hasNext(); ) {
                PreprocessingStage.Batch b = it.next();
                List<String> warnings = new ArrayList<>();
                for (PreprocessingStage.Outcome o : b.images()) warnings.add(check(o, progress, err));
                Tensor logits = ImageBatches.run(b, m);
                if (logits != null) nonFinite.check(err, "the logits hold", Map.of("logits", logits));
                for (int i = 0; i < b.images().size(); i++) {
                    PreprocessingStage.Outcome o = b.images().get(i);
                    if (o.decoded()) {
                        results.classified(o.source().name(), logits.data(), o.row() * k, warnings.get(i));
                        classified++;
                    } else {
                        results.failed(o.source().name(), failure(o));
                        skipped++;
                    }
                }
                done += b.images().size();
                if (Double.isNaN(first)) first = ManagementFactory.getRuntimeMXBean().getUptime() / 1e3;
                double seconds = (System.nanoTime() - start) / 1e9;
                if (progress != null) {
                    progress.update((double) done / sources.size(), String.format(java.util.Locale.ROOT, "%,d/%,d images, %.1f images/s", done,
                            sources.size(), done / seconds));
                }
            }
        } catch (IOException | RuntimeException | Error e) { // writing the results, or an image that stops the run
            if (progress != null) progress.interrupt(); // the error's line starts a line of its own
            throw e;
        }
        if (progress != null) progress.done();
        return new Run(classified, skipped, (System.nanoTime() - start) / 1e9, first);
    }

    /**
     * Stops on an image that failed or is damaged, unless --lenient: then warns, and returns the
     * warning of a damaged image (null for an intact one).
     */
    private String check(PreprocessingStage.Outcome o, Progress progress, PrintWriter err) {
        if (o.error() != null) {
            // any failure of one file (unreadable, gone, not a file, not an image) is that file's: --lenient skips it;
            // running out of memory or a fault is the run's
            if (o.error() instanceof Error e) throw e;
            if (!lenient) throw new Main.UserError(failure(o), o.error());
            if (progress != null) progress.interrupt();
            Main.warn(err, failure(o) + "; skipped (--lenient)");
            return null;
        }
        if (o.damage().isEmpty()) return null;
        String what = o.source().name() + " is damaged: " + String.join("; ", o.damage());
        if (!lenient) throw new Main.UserError(what + " (--lenient classifies what decodes)");
        if (progress != null) progress.interrupt();
        Main.warn(err, what + "; classified as far as it decodes (--lenient)");
        return what;
    }

    /** Why an image did not decode, in one line naming it. */
    static String failure(PreprocessingStage.Outcome o) {
        String why = Main.describe(o.error());
        // the JDK's exceptions name a file as its toString reads: U+FFFD for each byte that is not UTF-8
        if (o.source() instanceof ImageSource.File f) why = why.replace(f.path().toString(), o.source().name());
        return why.contains(o.source().name()) ? why : o.source().name() + ": " + why;
    }

    /** The top {@code top} classes of one image's logits, most probable first. */
    static List<Classification> topClasses(float[] logits, int from, int k, int top) {
        return Classifications.ofLogits("", logits, from, Classifications.labelsFor(k), List.of()).topK(top);
    }

    /** The results as text: the file, then one line per class. */
    private record TextResults(PrintWriter out, int top, int k) implements Results {
        @Override
        public void classified(String file, float[] logits, int from, String warning) {
            out.println(file + ":");
            for (Classification c : topClasses(logits, from, k, top)) {
                out.printf("  %6.2f%%  %4d  %s%n", 100 * c.probability(), c.index(), c.label());
            }
            out.flush();
        }

        @Override
        public void failed(String file, String error) {
            // said on stderr already; the text output lists the images that were classified
        }
    }

    /** The results as JSON lines, and how many were written. */
    private record JsonResults(Writer out, int[] lines, int top, int k) implements Results {
        JsonResults(int[] lines, int top, int k) {
            this(null, lines, top, k);
        }

        JsonResults to(Writer writer) {
            return new JsonResults(writer, lines, top, k);
        }

        @Override
        public void classified(String file, float[] logits, int from, String warning) throws IOException {
            StringBuilder line = new StringBuilder("{\"file\": ").append(dev.mnv3.core.Json.quote(file)).append(", \"top\": [");
            List<Classification> classes = topClasses(logits, from, k, top);
            for (int i = 0; i < classes.size(); i++) {
                Classification c = classes.get(i);
                line.append(i > 0 ? ", " : "").append("{\"class\": ").append(c.index()).append(", \"label\": ")
                        .append(dev.mnv3.core.Json.quote(c.label())).append(", \"probability\": ")
                        .append(probability(c.probability())).append('}');
            }
            line.append(']');
            if (warning != null) line.append(", \"warning\": ").append(dev.mnv3.core.Json.quote(warning));
            out.write(line.append("}\n").toString());
            lines[0]++;
        }

        @Override
        public void failed(String file, String error) throws IOException {
            out.write("{\"file\": " + dev.mnv3.core.Json.quote(file) + ", \"error\": " + dev.mnv3.core.Json.quote(error) + "}\n");
            lines[0]++;
        }

        /** A probability as JSON: NaN (from non-finite logits, said on stderr) has no JSON number, so it is null. */
        private static String probability(double p) {
            return Double.isFinite(p) ? String.format(java.util.Locale.ROOT, "%.6g", p) : "null";
        }
    }
}
