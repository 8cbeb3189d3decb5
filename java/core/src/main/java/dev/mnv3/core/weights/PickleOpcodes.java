package dev.mnv3.core.weights;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The pickle opcodes by byte, named as Python's {@code pickletools} names them, and the few a
 * state_dict is written with ({@link #ALLOWED}): PyTorch's own {@code weights_only} set. Every
 * other opcode is refused by name.
 */
final class PickleOpcodes {
    static final int MARK = '(', STOP = '.', BININT = 'J', BININT1 = 'K', BININT2 = 'M', NONE = 'N', BINPERSID = 'Q',
            REDUCE = 'R', BINUNICODE = 'X', APPEND = 'a', BUILD = 'b', GLOBAL = 'c', EMPTY_DICT = '}', APPENDS = 'e',
            BINGET = 'h', LONG_BINGET = 'j', EMPTY_LIST = ']', BINPUT = 'q', LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't',
            EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G', PROTO = 0x80, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87,
            NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d,
            STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95;

    static final Set<Integer> ALLOWED = Set.of(MARK, STOP, BININT, BININT1, BININT2, NONE, BINPERSID, REDUCE, BINUNICODE,
            APPEND, BUILD, GLOBAL, EMPTY_DICT, APPENDS, BINGET, LONG_BINGET, EMPTY_LIST, BINPUT, LONG_BINPUT, SETITEM, TUPLE,
            EMPTY_TUPLE, SETITEMS, BINFLOAT, PROTO, TUPLE1, TUPLE2, TUPLE3, NEWTRUE, NEWFALSE, LONG1, SHORT_BINUNICODE,
            BINUNICODE8, STACK_GLOBAL, MEMOIZE, FRAME);

    private static final Map<Integer, String> NAMES = new HashMap<>();

    static {
        String[] table = {
                "(MARK", ".STOP", "0POP", "1POP_MARK", "2DUP", "FFLOAT", "IINT", "JBININT", "KBININT1", "LLONG", "MBININT2",
                "NNONE", "PPERSID", "QBINPERSID", "RREDUCE", "SSTRING", "TBINSTRING", "USHORT_BINSTRING", "VUNICODE",
                "XBINUNICODE", "aAPPEND", "bBUILD", "cGLOBAL", "dDICT", "}EMPTY_DICT", "eAPPENDS", "gGET", "hBINGET",
                "iINST", "jLONG_BINGET", "lLIST", "]EMPTY_LIST", "oOBJ", "pPUT", "qBINPUT", "rLONG_BINPUT", "sSETITEM",
                "tTUPLE", ")EMPTY_TUPLE", "uSETITEMS", "GBINFLOAT", "BBINBYTES", "CSHORT_BINBYTES"};
        for (String s : table) NAMES.put((int) s.charAt(0), s.substring(1));
        String[] high = {"PROTO", "NEWOBJ", "EXT1", "EXT2", "EXT4", "TUPLE1", "TUPLE2", "TUPLE3", "NEWTRUE", "NEWFALSE", "LONG1",
                "LONG4", "SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES8", "EMPTY_SET", "ADDITEMS", "FROZENSET", "NEWOBJ_EX",
                "STACK_GLOBAL", "MEMOIZE", "FRAME", "BYTEARRAY8", "NEXT_BUFFER", "READONLY_BUFFER"};
        for (int i = 0; i < high.length; i++) NAMES.put(0x80 + i, high[i]);
    }

    private PickleOpcodes() {
    }

    /** E.g. {@code INST (0x69)}, or {@code 0xff, not a pickle opcode}. */
    static String describe(int op) {
        String name = NAMES.get(op);
        String hex = String.format("0x%02x", op);
        return name == null ? hex + ", not a pickle opcode" : name + " (" + hex + ")";
    }
}
