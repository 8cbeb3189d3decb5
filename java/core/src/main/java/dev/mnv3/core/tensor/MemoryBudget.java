package dev.mnv3.core.tensor;

import java.util.Locale;

/**
 * Checks before a large allocation that it can succeed, so that a request too big for this JVM
 * ends in a line that names what needed the memory and how much, not in an OutOfMemoryError
 * half-way through a run. Sizes are computed with checked arithmetic by the callers.
 */
public final class MemoryBudget {
    /** The longest array the JVM allocates (a few words below Integer.MAX_VALUE). */
    public static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;
    /** Requests below this are not checked: they cannot be the allocation that exhausts the heap by surprise. */
    private static final long CHECK_FROM_BYTES = 16L << 20;

    private MemoryBudget() {
    }

    /** {@code n} as the length of one Java array holding {@code what}, or an error naming it and the limit. */
    public static int arrayLength(long n, String what) {
        if (n < 0 || n > MAX_ARRAY_LENGTH) {
            throw new MemoryLimitException(what + " holds " + String.format(Locale.ROOT, "%,d", n)
                    + " values, more than one Java array can hold (" + String.format(Locale.ROOT, "%,d", MAX_ARRAY_LENGTH) + ")");
        }
        return (int) n;
    }

    /**
     * {@code n} as the length of a float array, after checking that it fits one array and the
     * heap; {@code what} names the data and is built only for the error.
     */
    public static int floatArray(long n, java.util.function.Supplier<String> what) {
        if (n < 0 || n > MAX_ARRAY_LENGTH) arrayLength(n, what.get());
        if (n * Float.BYTES >= CHECK_FROM_BYTES) reserve(n * Float.BYTES, what.get());
        return (int) n;
    }

    /** Floats times 4, failing with a message naming {@code what} when even the count overflows. */
    public static long floatBytes(long floats, String what) {
        try {
            return Math.multiplyExact(floats, Float.BYTES);
        } catch (ArithmeticException e) {
            throw new MemoryLimitException(what + " needs more than 2^63 bytes");
        }
    }

    /**
     * Fails unless {@code bytes} more can be allocated on the heap: the JVM's maximum heap less
     * what is in use (after one garbage collection when the first look says no).
     */
    public static void reserve(long bytes, String what) {
        if (bytes < CHECK_FROM_BYTES) return;
        long room = room();
        if (bytes <= room) return;
        System.gc(); // only on the way to refusing: what looked used may be garbage
        room = room();
        if (bytes <= room) return;
        long max = Runtime.getRuntime().maxMemory();
        throw new MemoryLimitException(what + " needs " + format(bytes) + ", more than the " + format(room)
                + " this JVM can still allocate (its maximum heap is " + format(max) + "; raise it with -Xmx, "
                + "for ./mnv3 with MNV3_JAVA_OPTS=-Xmx<size>)");
    }

    private static long room() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    /** Bytes in binary units with one decimal: "512.0 MiB", "7.5 GiB". */
    public static String format(long bytes) {
        if (bytes < 1024) return bytes + " bytes";
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
