package dev.mnv3.core.weights;

import static dev.mnv3.core.weights.PickleOpcodes.*;

import dev.mnv3.core.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the pickle of a {@code torch.save}d state_dict and nothing else: dicts and OrderedDicts,
 * lists, tuples, strings, numbers, booleans, None, and tensors through
 * {@code torch._utils._rebuild_tensor_v2} (or {@code _rebuild_parameter}) over storages named by
 * persistent ids. That is PyTorch's own {@code weights_only} rule. The whole pickle is scanned
 * first: any other opcode, and any other global, is refused by name before a single object is
 * built, so a pickle written to call {@code os.system} runs nothing. Every length it states is
 * checked against the bytes that are there before anything is allocated.
 */
final class StateDictUnpickler {
    /** Builds what the persistent ids and tensor records of the pickle describe. */
    interface Tensors {
        /** The storage {@code ('storage', type, key, location, numel)} names. */
        Object storage(DType type, String key, long numel) throws CheckpointFormatException;

        /** A tensor over {@code storage} (an object {@link #storage} returned). */
        Object tensor(Object storage, long offset, long[] shape, long[] stride) throws CheckpointFormatException;
    }

    /** A Python tuple (lists are {@link List}s, dicts {@link LinkedHashMap}s). */
    record Tuple(List<Object> items) {
    }

    /** The globals a state_dict names; storages only as persistent ids' types. */
    enum Global {
        ORDERED_DICT("collections", "OrderedDict", null),
        REBUILD_TENSOR_V2("torch._utils", "_rebuild_tensor_v2", null),
        REBUILD_PARAMETER("torch._utils", "_rebuild_parameter", null),
        FLOAT_STORAGE("torch", "FloatStorage", DType.F32),
        HALF_STORAGE("torch", "HalfStorage", DType.F16),
        BFLOAT16_STORAGE("torch", "BFloat16Storage", DType.BF16),
        LONG_STORAGE("torch", "LongStorage", DType.I64);

        final String module, name;
        final DType storage;

        Global(String module, String name, DType storage) {
            this.module = module;
            this.name = name;
            this.storage = storage;
        }

        static Global find(String module, String name) {
            for (Global g : values()) {
                if (g.module.equals(module) && g.name.equals(name)) return g;
            }
            return null;
        }

        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    private static final Object MARK_OBJECT = new Object();

    private final String where;
    private final java.nio.file.Path file;
    private final PickleInput in;
    private final Tensors tensors;

    private StateDictUnpickler(java.nio.file.Path file, String entry, MemorySegment pickle, Tensors tensors) {
        this.file = file;
        this.where = entry;
        this.in = new PickleInput(pickle, this::malformed);
        this.tensors = tensors;
    }

    /** The object {@code pickle} (the entry {@code entry} of {@code file}) holds, or an error naming what it refused. */
    static Object load(java.nio.file.Path file, String entry, MemorySegment pickle, Tensors tensors) throws CheckpointFormatException {
        StateDictUnpickler u = new StateDictUnpickler(file, entry, pickle, tensors);
        u.scan();
        u.in.rewind();
        return u.run();
    }

    /** Every opcode and global checked, every length checked against the bytes left; nothing built. */
    private void scan() throws CheckpointFormatException {
        while (true) {
            long at = in.position();
            int op = in.u8();
            if (!ALLOWED.contains(op)) {
                throw refuse("uses the pickle opcode " + PickleOpcodes.describe(op) + " at byte " + at + ", which a state_dict never needs");
            }
            switch (op) {
                case STOP -> {
                    return;
                }
                case BININT, LONG_BINGET, LONG_BINPUT -> in.skip(4);
                case BININT1, BINGET, BINPUT, PROTO -> in.skip(1);
                case BININT2 -> in.skip(2);
                case BINFLOAT, FRAME -> in.skip(8);
                case LONG1 -> in.skip(long1Length(in.u8(), at));
                case SHORT_BINUNICODE -> in.skip(in.u8());
                case BINUNICODE -> in.skip(in.stringLength(in.u32()));
                case BINUNICODE8 -> in.skip(in.stringLength(in.i64()));
                case GLOBAL -> global(in.line(), in.line(), at);
                default -> { } // no argument
            }
        }
    }

    private Object run() throws CheckpointFormatException {
        List<Object> stack = new ArrayList<>();
        Map<Long, Object> memo = new HashMap<>();
        while (true) {
            long at = in.position();
            int op = in.u8();
            switch (op) {
                case PROTO -> {
                    int proto = in.u8();
                    if (proto > 5) throw malformed("pickle protocol " + proto + " (Python writes 0 to 5)");
                }
                case FRAME -> in.skip(8);
                case STOP -> {
                    if (stack.size() != 1 || stack.getFirst() == MARK_OBJECT) throw malformed("STOP with " + stack.size() + " objects on the stack, not one");
                    return stack.getFirst();
                }
                case MARK -> stack.add(MARK_OBJECT);
                case NONE -> stack.add(null);
                case NEWTRUE -> stack.add(Boolean.TRUE);
                case NEWFALSE -> stack.add(Boolean.FALSE);
                case BININT -> stack.add((long) (int) in.u32());
                case BININT1 -> stack.add((long) in.u8());
                case BININT2 -> stack.add((long) (in.u8() | in.u8() << 8));
                case LONG1 -> stack.add(long1(long1Length(in.u8(), at)));
                case BINFLOAT -> stack.add(Double.longBitsToDouble(Long.reverseBytes(in.i64())));
                case SHORT_BINUNICODE -> stack.add(in.string(in.u8()));
                case BINUNICODE -> stack.add(in.string(in.stringLength(in.u32())));
                case BINUNICODE8 -> stack.add(in.string(in.stringLength(in.i64())));
                case EMPTY_DICT -> stack.add(new LinkedHashMap<>());
                case EMPTY_LIST -> stack.add(new ArrayList<>());
                case EMPTY_TUPLE -> stack.add(new Tuple(List.of()));
                case TUPLE -> stack.add(new Tuple(popToMark(stack, at)));
                case TUPLE1, TUPLE2, TUPLE3 -> {
                    int n = op - TUPLE1 + 1;
                    List<Object> items = new ArrayList<>();
                    for (int i = 0; i < n; i++) items.addFirst(pop(stack, at));
                    stack.add(new Tuple(Collections.unmodifiableList(items)));
                }
                case APPEND -> {
                    Object v = pop(stack, at);
                    list(peek(stack, at), at).add(v);
                }
                case APPENDS -> {
                    List<Object> items = popToMark(stack, at);
                    list(peek(stack, at), at).addAll(items);
                }
                case SETITEM -> {
                    Object v = pop(stack, at), k = pop(stack, at);
                    dict(peek(stack, at), at).put(key(k, at), v);
                }
                case SETITEMS -> {
                    List<Object> items = popToMark(stack, at);
                    if (items.size() % 2 != 0) throw malformed("SETITEMS at byte " + at + " with an odd number of items");
                    Map<Object, Object> d = dict(peek(stack, at), at);
                    for (int i = 0; i < items.size(); i += 2) d.put(key(items.get(i), at), items.get(i + 1));
                }
                case BINPUT -> memo.put((long) in.u8(), peek(stack, at));
                case LONG_BINPUT -> memo.put(in.u32(), peek(stack, at));
                case MEMOIZE -> memo.put((long) memo.size(), peek(stack, at));
                case BINGET, LONG_BINGET -> {
                    long index = op == BINGET ? in.u8() : in.u32();
                    if (!memo.containsKey(index)) throw malformed("memo entry " + index + " read at byte " + at + " was never stored");
                    stack.add(memo.get(index));
                }
                case GLOBAL -> stack.add(global(in.line(), in.line(), at));
                case STACK_GLOBAL -> {
                    Object name = pop(stack, at), module = pop(stack, at);
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw malformed("STACK_GLOBAL at byte " + at + " without a module and a name");
                    }
                    stack.add(global(m, n, at));
                }
                case REDUCE -> {
                    Object args = pop(stack, at), callable = pop(stack, at);
                    stack.add(reduce(callable, args, at));
                }
                case BUILD -> {
                    pop(stack, at); // the state: an OrderedDict's attributes (a state_dict's _metadata), not needed
                    if (!(peek(stack, at) instanceof Map<?, ?>)) {
                        throw refuse("sets the state of " + typeName(peek(stack, at)) + " (BUILD at byte " + at + "), which a state_dict never does");
                    }
                }
                case BINPERSID -> stack.add(persistent(pop(stack, at), at));
                default -> throw new AssertionError(PickleOpcodes.describe(op)); // scan() let only ALLOWED through
            }
        }
    }

    private Global global(String module, String name, long at) throws CheckpointFormatException {
        Global g = Global.find(module, name);
        if (g == null) {
            throw refuse("calls " + module + "." + name + " (global at byte " + at + "), which a state_dict never needs; mnv3 reads "
                    + "only tensors, dicts, lists, tuples, strings and numbers, as PyTorch's weights_only does");
        }
        return g;
    }

    private Object reduce(Object callable, Object args, long at) throws CheckpointFormatException {
        if (!(callable instanceof Global g) || g.storage != null) {
            throw refuse("calls " + typeName(callable) + " (REDUCE at byte " + at + "), which a state_dict never does");
        }
        if (!(args instanceof Tuple(List<Object> a))) throw malformed("REDUCE at byte " + at + " with arguments that are not a tuple");
        return switch (g) {
            case ORDERED_DICT -> {
                if (!a.isEmpty()) throw malformed("OrderedDict built with arguments at byte " + at);
                yield new LinkedHashMap<>();
            }
            case REBUILD_PARAMETER -> {
                if (a.size() != 3) throw malformed("_rebuild_parameter at byte " + at + " with " + a.size() + " arguments, not 3");
                yield a.getFirst();
            }
            case REBUILD_TENSOR_V2 -> {
                if (a.size() != 6 && a.size() != 7) {
                    throw malformed("_rebuild_tensor_v2 at byte " + at + " with " + a.size() + " arguments, not 6 or 7");
                }
                if (!(a.get(1) instanceof Long offset)) throw malformed("a tensor's storage offset at byte " + at + " is not an integer");
                yield tensors.tensor(a.get(0), offset, longs(a.get(2), "size", at), longs(a.get(3), "stride", at));
            }
            default -> throw new AssertionError(g);
        };
    }

    private Object persistent(Object pid, long at) throws CheckpointFormatException {
        if (pid instanceof Tuple(List<Object> t) && t.size() == 5 && "storage".equals(t.get(0)) && t.get(1) instanceof Global g
                && g.storage != null && t.get(2) instanceof String key && t.get(3) instanceof String && t.get(4) instanceof Long numel) {
            return tensors.storage(g.storage, key, numel);
        }
        throw malformed("the persistent id at byte " + at + " is not ('storage', torch.<Type>Storage, key, location, size)");
    }

    private long[] longs(Object o, String what, long at) throws CheckpointFormatException {
        if (o instanceof Tuple(List<Object> items) && items.size() <= 64) {
            long[] out = new long[items.size()];
            for (int i = 0; i < out.length; i++) {
                if (!(items.get(i) instanceof Long v)) throw malformed("a tensor's " + what + " at byte " + at + " holds a non-integer");
                out[i] = v;
            }
            return out;
        }
        throw malformed("a tensor's " + what + " at byte " + at + " is not a tuple of at most 64 integers");
    }

    /** Dict keys are strings and numbers: a state_dict's names, an optimizer's indices (and nothing that hashes forever). */
    private Object key(Object k, long at) throws CheckpointFormatException {
        if (k == null || k instanceof String || k instanceof Long || k instanceof Double || k instanceof Boolean) return k;
        throw malformed("a dict key at byte " + at + " is " + typeName(k));
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o, long at) throws CheckpointFormatException {
        if (o instanceof ArrayList<?> l) return (List<Object>) l;
        throw malformed("APPEND at byte " + at + " onto " + typeName(o));
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o, long at) throws CheckpointFormatException {
        if (o instanceof LinkedHashMap<?, ?> m) return (Map<Object, Object>) m;
        throw malformed("SETITEM at byte " + at + " onto " + typeName(o));
    }

    private Object pop(List<Object> stack, long at) throws CheckpointFormatException {
        Object o = peek(stack, at);
        stack.removeLast();
        return o;
    }

    private Object peek(List<Object> stack, long at) throws CheckpointFormatException {
        if (stack.isEmpty() || stack.getLast() == MARK_OBJECT) throw malformed("the opcode at byte " + at + " finds no object on the stack");
        return stack.getLast();
    }

    private List<Object> popToMark(List<Object> stack, long at) throws CheckpointFormatException {
        int mark = stack.lastIndexOf(MARK_OBJECT);
        if (mark < 0) throw malformed("the opcode at byte " + at + " finds no MARK");
        List<Object> items = new ArrayList<>(stack.subList(mark + 1, stack.size()));
        stack.subList(mark, stack.size()).clear();
        return Collections.unmodifiableList(Arrays.asList(items.toArray()));
    }

    private static String typeName(Object o) {
        return switch (o) {
            case null -> "None";
            case Global g -> g.toString();
            case String s -> "a string";
            case Long l -> "an integer";
            case Double d -> "a float";
            case Boolean b -> "a boolean";
            case Tuple t -> "a tuple";
            case List<?> l -> "a list";
            case Map<?, ?> m -> "a dict";
            default -> "a tensor or storage";
        };
    }

    /** More than 8 bytes is no size, offset or count. */
    private int long1Length(int n, long at) throws CheckpointFormatException {
        if (n > 8) throw malformed("an integer of " + n + " bytes at byte " + at + " (mnv3 reads up to 8)");
        return n;
    }

    /** LONG1: an n-byte two's complement integer, little-endian. */
    private long long1(int n) throws CheckpointFormatException {
        long v = 0;
        for (int i = 0; i < n; i++) v |= (long) in.u8() << (8 * i);
        return n == 0 || n == 8 ? v : v << (64 - 8 * n) >> (64 - 8 * n);
    }

    private CheckpointFormatException refuse(String what) {
        return new CheckpointFormatException(file, "refused: " + where + " " + what);
    }

    private CheckpointFormatException malformed(String what) {
        return new CheckpointFormatException(file, "malformed " + where + ": " + what);
    }
}
