package dev.mnv3.core.weights;

import dev.mnv3.core.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors of a {@code torch.save} zip archive: {@code <archive>/data.pkl} unpickled by
 * {@link StateDictUnpickler}, each storage the entry {@code <archive>/data/<key>}. A training
 * checkpoint's state_dict is found under its usual keys (or the one asked for), and
 * DataParallel's {@code module.} prefixes are removed.
 *
 * @param tensors      by name, in the pickle's order
 * @param key          the entry of a training checkpoint that held them, or null for a bare state_dict
 * @param strippedPrefix whether every name began with {@code module.}, now removed
 */
record PyTorchCheckpoint(Map<String, StoredTensor> tensors, String key, boolean strippedPrefix) {
    /** Where training scripts keep the model's tensors, tried in this order. */
    static final List<String> STATE_DICT_KEYS = List.of("state_dict", "model", "model_state_dict", "state_dict_ema", "model_ema");
    private static final String RESAVE = "load it in Python and save its state_dict with a current PyTorch: torch.save(model.state_dict(), path)";

    /** Storage bytes: a storage's entry and the type and size its persistent id gives it. */
    private record Storage(String key, DType type, MemorySegment data) {
    }

    private record Tensor(Storage storage, long offset, long[] shape, long[] stride) {
    }

    /** What torch.save's legacy files begin with: PROTO 2, LONG1 of 10 bytes, the magic number 0x1950a86a20f9469cfc6c. */
    private static final byte[] LEGACY_MAGIC = {(byte) 0x80, 2, (byte) 0x8a, 10, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20,
            0x6a, (byte) 0xa8, 0x50, 0x19};

    /** The error for a pickle that is not a zip: PyTorch's format before 1.6, or another program's pickle. */
    static CheckpointFormatException legacy(Path file, MemorySegment bytes) {
        boolean torch = bytes.byteSize() >= LEGACY_MAGIC.length
                && MemorySegment.mismatch(bytes, 0, LEGACY_MAGIC.length, MemorySegment.ofArray(LEGACY_MAGIC), 0, LEGACY_MAGIC.length) < 0;
        return new CheckpointFormatException(file, (torch ? "a PyTorch checkpoint in the legacy format (PyTorch before 1.6)"
                : "a Python pickle, not a PyTorch zip checkpoint") + ", which mnv3 does not unpickle: " + RESAVE);
    }

    static PyTorchCheckpoint read(Path file, MemorySegment zip, String key) throws CheckpointFormatException {
        Map<String, PyTorchZip.Entry> entries = PyTorchZip.entries(file, zip);
        String prefix = null;
        for (String name : entries.keySet()) {
            if (name.endsWith("/constants.pkl") || name.contains("/code/")) {
                throw new CheckpointFormatException(file, "a TorchScript archive (torch.jit.save), not a state_dict: load it with "
                        + "torch.jit.load(path) and save its tensors with torch.save(m.state_dict(), path)");
            }
            if (name.endsWith("/data.pkl") && name.indexOf('/') == name.length() - "/data.pkl".length()) {
                if (prefix != null) throw new CheckpointFormatException(file, "a zip archive with two data.pkl records");
                prefix = name.substring(0, name.length() - "data.pkl".length());
            }
        }
        if (prefix == null) throw new CheckpointFormatException(file, "a zip archive without data.pkl: not a PyTorch checkpoint");
        for (PyTorchZip.Entry e : entries.values()) {
            if (e.compressed() && e.name().startsWith(prefix)) {
                throw new CheckpointFormatException(file, "entry " + e.name() + " is compressed; torch.save stores every entry "
                        + "uncompressed (was the archive re-zipped?): " + RESAVE);
            }
        }
        PyTorchZip.Entry order = entries.get(prefix + "byteorder");
        if (order != null && !"little".equals(text(zip, order))) {
            throw new CheckpointFormatException(file, "a checkpoint saved on a big-endian machine; " + RESAVE + " on a little-endian one");
        }
        PyTorchZip.Entry pickle = entries.get(prefix + "data.pkl");
        Object root = StateDictUnpickler.load(file, "data.pkl", slice(zip, pickle), new Storages(file, zip, entries, prefix));
        return select(file, root, key);
    }

    private static final class Storages implements StateDictUnpickler.Tensors {
        private final Path file;
        private final MemorySegment zip;
        private final Map<String, PyTorchZip.Entry> entries;
        private final String prefix;
        private final Map<String, Storage> seen = new HashMap<>();

        Storages(Path file, MemorySegment zip, Map<String, PyTorchZip.Entry> entries, String prefix) {
            this.file = file;
            this.zip = zip;
            this.entries = entries;
            this.prefix = prefix;
        }

        @Override
        public Object storage(DType type, String key, long numel) throws CheckpointFormatException {
            Storage known = seen.get(key);
            if (known != null) {
                if (known.type() != type || known.data().byteSize() != numel * type.bytes) {
                    throw new CheckpointFormatException(file, "malformed data.pkl: storage " + key + " is named twice with different types or sizes");
                }
                return known;
            }
            PyTorchZip.Entry e = entries.get(prefix + "data/" + key);
            if (e == null) throw new CheckpointFormatException(file, "storage " + key + " has no entry data/" + key + ": truncated?");
            if (numel < 0 || numel > e.size() / type.bytes) {
                throw new CheckpointFormatException(file, "storage " + key + " of " + numel + " " + type + " elements runs past its entry of "
                        + e.size() + " bytes");
            }
            Storage s = new Storage(key, type, zip.asSlice(e.offset(), numel * type.bytes));
            seen.put(key, s);
            return s;
        }

        @Override
        public Object tensor(Object storage, long offset, long[] shape, long[] stride) throws CheckpointFormatException {
            if (!(storage instanceof Storage s)) throw new CheckpointFormatException(file, "malformed data.pkl: a tensor without a storage");
            if (shape.length != stride.length) {
                throw new CheckpointFormatException(file, "malformed data.pkl: a tensor of storage " + s.key() + " with " + shape.length
                        + " sizes and " + stride.length + " strides");
            }
            long last = offset; // the last element the tensor reads, when it has any
            boolean empty = false;
            try {
                for (int i = 0; i < shape.length; i++) {
                    if (shape[i] < 0 || stride[i] < 0) throw new ArithmeticException();
                    if (shape[i] == 0) empty = true;
                    else last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, stride[i]));
                }
            } catch (ArithmeticException e) {
                throw new CheckpointFormatException(file, "a tensor of storage " + s.key() + " has sizes " + List.of(box(shape)) + " and strides "
                        + List.of(box(stride)) + " that do not address memory");
            }
            long elements = s.data().byteSize() / s.type().bytes;
            if (offset < 0 || !empty && last >= elements) {
                throw new CheckpointFormatException(file, "a tensor of sizes " + List.of(box(shape)) + ", strides " + List.of(box(stride))
                        + " at offset " + offset + " runs past its storage " + s.key() + " of " + elements + " elements");
            }
            return new Tensor(s, offset, shape, stride);
        }
    }

    /** The dict of tensors in {@code root}: root itself, or the entry {@code key}, or the first usual training-checkpoint key. */
    private static PyTorchCheckpoint select(Path file, Object root, String key) throws CheckpointFormatException {
        if (!(root instanceof Map<?, ?> top)) throw new CheckpointFormatException(file, "holds no dict of tensors (its pickle is not a dict)");
        Object chosen = null;
        String used = null;
        if (key != null) {
            chosen = top.get(key);
            if (chosen == null) {
                throw new CheckpointFormatException(file, "has no entry '" + key + "' (the checkpoint key); its keys: " + keys(top));
            }
            used = key;
        } else {
            for (String k : STATE_DICT_KEYS) { // first: a training checkpoint may hold a stray tensor beside its state_dict
                if (top.get(k) instanceof Map<?, ?> m && isStateDict(m)) {
                    chosen = m;
                    used = k;
                    break;
                }
            }
            if (chosen == null && isStateDict(top)) chosen = top;
            if (chosen == null) {
                throw new CheckpointFormatException(file, "holds no state_dict: none of its keys " + keys(top) + " is one of "
                        + STATE_DICT_KEYS + " holding tensors; name the one that does as the checkpoint key");
            }
        }
        if (!(chosen instanceof Map<?, ?> dict) || !isStateDict(dict)) {
            throw new CheckpointFormatException(file, "its entry '" + used + "' is not a dict of tensors");
        }
        boolean strip = dict.keySet().stream().allMatch(k -> k instanceof String s && s.startsWith("module."));
        Map<String, StoredTensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String name) || !(e.getValue() instanceof Tensor t)) continue; // a stray count or flag
            if (strip) name = name.substring("module.".length());
            tensors.put(name, new StoredTensor(file, name, t.storage().type(), t.shape(), t.stride(), t.storage().data(), t.offset()));
        }
        return new PyTorchCheckpoint(tensors, used, strip);
    }

    /** Whether most of a dict's values are tensors (a state_dict may also hold a stray count or flag). */
    private static boolean isStateDict(Map<?, ?> m) {
        long tensors = m.values().stream().filter(v -> v instanceof Tensor).count();
        return tensors > 0 && tensors * 2 >= m.size();
    }

    private static List<String> keys(Map<?, ?> m) {
        List<String> out = new ArrayList<>();
        for (Object k : m.keySet()) {
            if (out.size() == 12) {
                out.add("...");
                break;
            }
            out.add(String.valueOf(k));
        }
        return out;
    }

    private static Long[] box(long[] v) {
        Long[] out = new Long[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }

    private static MemorySegment slice(MemorySegment zip, PyTorchZip.Entry e) {
        return zip.asSlice(e.offset(), e.size());
    }

    private static String text(MemorySegment zip, PyTorchZip.Entry e) {
        if (e.size() > 64) return "";
        return new String(slice(zip, e).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8).trim();
    }
}
