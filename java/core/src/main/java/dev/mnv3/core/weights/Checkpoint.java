package dev.mnv3.core.weights;

import dev.mnv3.core.CheckpointLayout;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.io.InputFiles;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A checkpoint file, opened once: a safetensors file or a PyTorch {@code torch.save} archive
 * ({@code .pth}, {@code .pt}, {@code .bin}), mapped, its tensors named and typed, none read yet.
 * It tells which naming layout its tensors follow, and so gives the config those tensors were
 * trained with and the weights for a graph of that config:
 *
 * <pre>{@code
 * try (Checkpoint checkpoint = Checkpoint.open(Path.of("mobilenet_v3_large.pth"))) {
 *     Graph graph = Graph.of(checkpoint.configFor(MobileNetV3Config.large()));
 *     Weights weights = checkpoint.weightsFor(graph);
 * }
 * }</pre>
 *
 * PyTorch archives are unpickled by a reader that builds only what a state_dict holds (tensors,
 * dicts, lists, tuples, strings, numbers: PyTorch's {@code weights_only} rule) and refuses any
 * other global or opcode before building anything. A training checkpoint's tensors are found
 * under {@code state_dict}, {@code model}, {@code model_state_dict}, {@code state_dict_ema} or
 * {@code model_ema} (or the key given to {@link #open(Path, String)}), and DataParallel's
 * {@code module.} prefixes are removed. Closing the checkpoint unmaps the file; the
 * {@link Weights} it gave stay valid.
 */
public final class Checkpoint implements AutoCloseable {
    /** How the file stores its tensors. */
    public enum Format {
        SAFETENSORS("safetensors"),
        PYTORCH("a PyTorch checkpoint (torch.save)");

        private final String description;

        Format(String description) {
            this.description = description;
        }

        public String describe() {
            return description;
        }
    }

    private final Path path;
    private final Format format;
    private final AutoCloseable mapping;
    private final Map<String, StoredTensor> tensors;
    private final CheckpointLayout layout;
    private final String key;
    private final boolean strippedPrefix;

    private Checkpoint(Path path, Format format, AutoCloseable mapping, Map<String, StoredTensor> tensors, String key, boolean strippedPrefix) {
        this.path = path;
        this.format = format;
        this.mapping = mapping;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.layout = WeightNames.detect(tensors.keySet());
        this.key = key;
        this.strippedPrefix = strippedPrefix;
    }

    /** Opens {@code file}, finding a training checkpoint's tensors under the usual keys. */
    public static Checkpoint open(Path file) throws IOException {
        return open(file, null);
    }

    /**
     * Opens {@code file}; {@code key}, when not null, is the entry of a PyTorch training checkpoint
     * that holds the tensors (a safetensors file has no such entries and ignores it).
     */
    public static Checkpoint open(Path file, String key) throws IOException {
        InputFiles.requireRegularFile(file);
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment bytes = size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            if (PyTorchZip.looksLikeZip(bytes)) {
                PyTorchCheckpoint c = PyTorchCheckpoint.read(file, bytes, key);
                return new Checkpoint(file, Format.PYTORCH, arena::close, c.tensors(), c.key(), c.strippedPrefix());
            }
            // a pickle begins with PROTO (0x80); a safetensors file may too (a header of 128 bytes), but has its JSON at byte 8
            boolean json = size > 8 && bytes.get(ValueLayout.JAVA_BYTE, 8) == '{';
            if (size > 0 && bytes.get(ValueLayout.JAVA_BYTE, 0) == (byte) 0x80 && !json) throw PyTorchCheckpoint.legacy(file, bytes);
            SafeTensors st = SafeTensors.mapped(file, arena, bytes, size);
            Map<String, StoredTensor> tensors = new LinkedHashMap<>();
            st.entries().forEach((name, e) -> tensors.put(name, StoredTensor.of(st, e, st.data())));
            return new Checkpoint(file, Format.SAFETENSORS, st, tensors, null, false);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public Format format() {
        return format;
    }

    /** The layout the tensors' names follow (torchvision's when they follow none of the others). */
    public CheckpointLayout layout() {
        return layout;
    }

    /** The entry of a training checkpoint the tensors came from, or null when the file is the state_dict itself. */
    public String key() {
        return key;
    }

    /** Whether the names had DataParallel's {@code module.} prefix, removed here. */
    public boolean strippedModulePrefix() {
        return strippedPrefix;
    }

    /** Every tensor by name (after the prefix is removed), in the file's order; read on demand. */
    public Map<String, StoredTensor> tensors() {
        return tensors;
    }

    /**
     * {@code model} as these tensors were trained: in the layout the model declares (a table's
     * {@code weight_names}), else in this file's, whose BatchNorm eps it takes unless the eps was
     * chosen ({@link MobileNetV3Config#withBnEps}, a table's {@code bn_eps}).
     */
    public MobileNetV3Config configFor(MobileNetV3Config model) {
        return model.layout() != null ? model : model.forLayout(layout);
    }

    /**
     * The weights {@code graph} runs with, every tensor checked by name, shape and type first and
     * all mismatches reported together ({@link WeightMismatchException}). The graph should come from
     * {@link #configFor}: a graph whose eps nobody chose and which is not this file's layout's is
     * refused, as it would compute other numbers than the network that was trained.
     */
    public Weights weightsFor(Graph graph) {
        return WeightLoader.load(this, graph);
    }

    /** E.g. {@code a PyTorch checkpoint (torch.save), the tensors under 'state_dict', module. prefixes removed, in timm's layout (...)}. */
    public String describe() {
        return format.describe() + (key != null ? ", the tensors under '" + key + "'" : "")
                + (strippedPrefix ? ", module. prefixes removed" : "") + ", in " + layout.describe();
    }

    @Override
    public void close() {
        try {
            mapping.close();
        } catch (Exception e) {
            throw new IllegalStateException(e); // neither an arena nor SafeTensors throws a checked exception on close
        }
    }
}
