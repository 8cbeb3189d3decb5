package dev.mnv3.core.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The restricted unpickler on hand-made pickles: what a state_dict needs reads, everything else is one line, nothing built. */
class StateDictUnpicklerTest {
    /** Counts what the pickle asked to build. */
    static final class Recorder implements StateDictUnpickler.Tensors {
        final List<String> built = new ArrayList<>();

        @Override
        public Object storage(DType type, String key, long numel) {
            built.add("storage " + type + " " + key + " " + numel);
            return key;
        }

        @Override
        public Object tensor(Object storage, long offset, long[] shape, long[] stride) {
            built.add("tensor " + storage + " " + offset + " " + Arrays.toString(shape) + " " + Arrays.toString(stride));
            return built.getLast();
        }
    }

    static Object load(byte[] pickle, Recorder r) throws CheckpointFormatException {
        return StateDictUnpickler.load(Path.of("x.pth"), "data.pkl", MemorySegment.ofArray(pickle), r);
    }

    static String refusal(byte[] pickle, Recorder r) {
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> load(pickle, r));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().startsWith("x.pth: "), e.getMessage());
        return e.getMessage();
    }

    @Test
    void readsAStateDictAsTorchSaveWritesIt() throws Exception {
        byte[] p = PickleBytes.proto2().global("collections", "OrderedDict").op(')', 'R', 'q', 0)
                .string("w").tensor("FloatStorage", "0", 6, 0, new int[] {2, 3}, new int[] {3, 1}).op('s')
                .string("n").tensor("LongStorage", "1", 1, 0, new int[] {}, new int[] {}).op('s')
                .op('}').op('b') // BUILD: the OrderedDict's _metadata
                .op('.').bytes();
        Recorder r = new Recorder();
        Map<?, ?> m = (Map<?, ?>) load(p, r);
        assertEquals(List.of("w", "n"), new ArrayList<>(m.keySet()));
        assertEquals("tensor 0 0 [2, 3] [3, 1]", m.get("w"));
        assertEquals(List.of("storage F32 0 6", "tensor 0 0 [2, 3] [3, 1]", "storage I64 1 1", "tensor 1 0 [] []"), r.built);
    }

    @Test
    void everyOtherOpcodeIsRefusedByNameBeforeAnythingIsBuilt() {
        int refused = 0;
        for (int op = 0; op < 256; op++) {
            if (PickleOpcodes.ALLOWED.contains(op)) continue;
            // a storage first: the refusal must come before it is built
            byte[] p = PickleBytes.proto2().storage("FloatStorage", "0", 1).op(op, 0, 0, 0, 0, 0, 0, 0, 0, '.').bytes();
            Recorder r = new Recorder();
            String m = refusal(p, r);
            assertTrue(m.contains("refused: data.pkl uses the pickle opcode " + PickleOpcodes.describe(op)), m);
            assertEquals(List.of(), r.built, m);
            refused++;
        }
        assertEquals(256 - PickleOpcodes.ALLOWED.size(), refused);
        assertTrue(PickleOpcodes.describe('i').startsWith("INST"), PickleOpcodes.describe('i'));
        assertTrue(PickleOpcodes.describe(0x81).startsWith("NEWOBJ"), PickleOpcodes.describe(0x81));
    }

    @ParameterizedTest
    @CsvSource({"posix, system", "os, system", "builtins, eval", "builtins, exec", "builtins, getattr", "subprocess, Popen",
            "torch, load", "torch, DoubleStorage", "torch.storage, _load_from_bytes", "collections, defaultdict",
            "numpy.core.multiarray, _reconstruct", "torch._utils, _rebuild_tensor", "torch.nn.modules.linear, Linear"})
    void everyOtherGlobalIsRefusedByNameBeforeAnythingIsBuilt(String module, String name) {
        Recorder r = new Recorder();
        byte[] viaGlobal = PickleBytes.proto2().storage("FloatStorage", "0", 1).global(module, name).op('(').string("touch /tmp/x")
                .op('t', 'R', '.').bytes();
        String m = refusal(viaGlobal, r);
        assertTrue(m.contains("refused: data.pkl calls " + module + "." + name), m);
        assertEquals(List.of(), r.built, "refused before the storage was built");

        byte[] viaStack = PickleBytes.proto2().string(module).string(name).op(0x93).op('(').string("x").op('t', 'R', '.').bytes();
        assertTrue(refusal(viaStack, new Recorder()).contains("calls " + module + "." + name));
    }

    @Test
    void storageTypesAndOrderedDictArgumentsCannotBeCalled() {
        byte[] callStorage = PickleBytes.proto2().global("torch", "FloatStorage").op('(').integer(1).op('t', 'R', '.').bytes();
        assertTrue(refusal(callStorage, new Recorder()).contains("refused: data.pkl calls torch.FloatStorage"));
        byte[] callString = PickleBytes.proto2().string("os.system").op(')', 'R', '.').bytes();
        assertTrue(refusal(callString, new Recorder()).contains("refused"));
        byte[] buildTuple = PickleBytes.proto2().op(')', '}', 'b', '.').bytes();
        assertTrue(refusal(buildTuple, new Recorder()).contains("refused: data.pkl sets the state of a tuple"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "8002 58 ffffffff 2e | a string of 4294967295 bytes",
            "8002 8d ffffffffffffff3f 2e | a string of 4611686018427387903 bytes",
            "8002 58 10000000 41 2e | truncated: 16 bytes wanted",
            "8002 8c 05 41 | truncated",
            "8002 8a c8 00 2e | an integer of 200 bytes",
            "8002 68 07 2e | memo entry 7 read at byte 2 was never stored",
            "8002 30 | POP",
            "8002 52 2e | finds no object on the stack",
            "8002 4b01 74 2e | finds no MARK",
            "8002 5d 4b01 4b02 73 2e | SETITEM at byte 7 onto a list",
            "8002 7d 5d 4b01 73 2e | a dict key at byte 6 is a list",
            "8002 7d 4b01 61 2e | APPEND at byte 5 onto a dict",
            "8002 4b01 4b02 2e | STOP with 2 objects",
            "8006 2e | pickle protocol 6",
            "8002 28 58 07000000 73746f72616765 4b00 4b00 4b00 4b00 74 51 2e | the persistent id at byte 24 is not",
            "8002 4b01 | truncated",
            "| truncated"})
    void malformedPicklesAreOneLine(String hex, String expected) {
        byte[] p = java.util.HexFormat.of().parseHex(hex == null ? "" : hex.replace(" ", ""));
        String m = refusal(p, new Recorder());
        assertTrue(m.contains(expected), m);
    }

    @Test
    void everyCutOfAValidPickleIsOneLine() throws Exception {
        byte[] p = PickleBytes.proto2().op('}').string("w").tensor("HalfStorage", "0", 4, 1, new int[] {3}, new int[] {1}).op('s', '.').bytes();
        load(p, new Recorder());
        for (int n = 0; n < p.length; n++) refusal(Arrays.copyOf(p, n), new Recorder());
    }

    @Test
    void aSelfReferentialListIsNoKeyAndNoHang() {
        // ] q0 h0 a: a list appended to itself, then used as a dict key: Python refuses (unhashable), so do we
        byte[] p = PickleBytes.proto2().op('}', ']', 'q', 0, 'h', 0, 'a', 'N', 's', '.').bytes();
        assertTrue(refusal(p, new Recorder()).contains("a dict key at byte"));
    }
}
