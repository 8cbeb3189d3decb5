package dev.mnv3.cuda.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/** The few Foreign Function &amp; Memory helpers the bindings share. */
@SuppressWarnings("restricted") // binding native code is this package's purpose
public final class Ffm {
    private Ffm() {
    }

    /** Turns symbols of one library into method handles, naming the library when one is missing. */
    public record Binder(SymbolLookup lookup, String library) {
        public MethodHandle bind(String name, MemoryLayout result, MemoryLayout... args) {
            return find(name, result, args).orElseThrow(() -> new IllegalStateException(
                    library + " has no function " + name + " (the library is older than mnv3 needs)"));
        }

        /** The first of {@code names} the library has (newer versions add {@code _v2} symbols). */
        public Optional<MethodHandle> find(String name, MemoryLayout result, MemoryLayout... args) {
            FunctionDescriptor fd = result == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(result, args);
            return lookup.find(name).map(symbol -> Linker.nativeLinker().downcallHandle(symbol, fd));
        }
    }

    /** One downcall; the lambda form keeps each binding to one line despite invokeExact's Throwable. */
    @FunctionalInterface
    public interface NativeCall<T> {
        T call() throws Throwable;
    }

    /** Runs {@code c}, rethrowing what a method handle throws without wrapping runtime exceptions. */
    public static <T> T call(NativeCall<T> c) {
        try {
            return c.call();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A device pointer as the {@code void*} argument cuDNN declares. */
    public static MemorySegment pointer(long address) {
        return MemorySegment.ofAddress(address);
    }

    /** Throws when a status code is an error, naming the call. */
    @FunctionalInterface
    public interface Checker {
        void check(String call, int status);
    }

    /** A downcall that writes its result through a pointer argument. */
    @FunctionalInterface
    public interface OutCall {
        int call(MemorySegment out) throws Throwable;
    }

    public static int outInt(Checker checker, String name, OutCall c) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_INT);
            checker.check(name, call(() -> c.call(out)));
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    public static long outLong(Checker checker, String name, OutCall c) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_LONG);
            checker.check(name, call(() -> c.call(out)));
            return out.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    public static MemorySegment outAddress(Checker checker, String name, OutCall c) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            checker.check(name, call(() -> c.call(out)));
            return out.get(ValueLayout.ADDRESS, 0);
        }
    }

    /** The NUL-terminated C string at {@code p}, or null for a null pointer. */
    public static String string(MemorySegment p) {
        return p.equals(MemorySegment.NULL) ? null : p.reinterpret(4096).getString(0);
    }
}
