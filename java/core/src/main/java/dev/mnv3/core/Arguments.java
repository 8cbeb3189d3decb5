package dev.mnv3.core;

/**
 * Checks of a caller's arguments at the library's public entry points: each failure is a one-line
 * {@link IllegalArgumentException} naming the argument, what was expected and what was given,
 * rather than a NullPointerException or an index out of bounds deep inside the work.
 */
public final class Arguments {
    private Arguments() {
    }

    /** {@code value}, unless it is null. */
    public static <T> T notNull(T value, String name, String expected) {
        if (value == null) throw new IllegalArgumentException(name + " is null: expected " + expected);
        return value;
    }

    /**
     * Checks that the array {@code name} (its {@code length}) has room from {@code offset} for
     * {@code needed} values, {@code what} they are.
     */
    public static void room(String name, int length, int offset, long needed, String what) {
        if (offset < 0) throw new IllegalArgumentException("offset is " + offset + ", expected >= 0");
        if ((long) length - offset < needed) {
            throw new IllegalArgumentException(name + " of length " + length + " holds " + Math.max(0L, (long) length - offset)
                    + " values from offset " + offset + ", expected room for " + what + ": " + needed + " values");
        }
    }

    /** Checks that no element of {@code values} is null. */
    public static void noNulls(Iterable<?> values, String name, String expected) {
        int i = 0;
        for (Object v : notNull(values, name, "a list of " + expected)) {
            if (v == null) throw new IllegalArgumentException(name + "[" + i + "] is null: expected " + expected);
            i++;
        }
    }
}
