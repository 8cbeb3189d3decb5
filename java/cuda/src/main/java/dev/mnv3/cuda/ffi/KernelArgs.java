package dev.mnv3.cuda.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.Arrays;

/**
 * Kernel arguments the way cuLaunchKernel takes them: an array of pointers whose i-th element
 * points to the value of the kernel's i-th parameter. The driver copies as many bytes as the
 * parameter's C type has, so each value must be written with exactly that type: {@link #ptr} for
 * pointers, {@link #i32} for {@code int}, {@link #i64} for {@code long long}, {@link #f32} for
 * {@code float}. Values sit in 8-byte aligned slots. Pure Java: no GPU needed to test it.
 */
public final class KernelArgs {
    public enum Type { PTR, I32, I64, F32 }

    private long[] values = new long[8];
    private Type[] types = new Type[8];
    private String[] names = new String[8];
    private int count;

    /** The pointer argument {@code name}: the C parameter's name, which the contract test compares. */
    public KernelArgs ptr(String name, long devicePointer) {
        return add(name, Type.PTR, devicePointer);
    }

    public KernelArgs i32(String name, int v) {
        return add(name, Type.I32, v);
    }

    public KernelArgs i64(String name, long v) {
        return add(name, Type.I64, v);
    }

    public KernelArgs f32(String name, float v) {
        return add(name, Type.F32, Float.floatToRawIntBits(v));
    }

    public KernelArgs ptr(long devicePointer) {
        return add(null, Type.PTR, devicePointer);
    }

    public KernelArgs i32(int v) {
        return add(null, Type.I32, v);
    }

    public KernelArgs i64(long v) {
        return add(null, Type.I64, v);
    }

    public KernelArgs f32(float v) {
        return add(null, Type.F32, Float.floatToRawIntBits(v));
    }

    private KernelArgs add(String name, Type t, long bits) {
        if (count == values.length) {
            values = Arrays.copyOf(values, count * 2);
            types = Arrays.copyOf(types, count * 2);
            names = Arrays.copyOf(names, count * 2);
        }
        names[count] = name;
        values[count] = bits;
        types[count++] = t;
        return this;
    }

    public int count() {
        return count;
    }

    public Type type(int i) {
        return types[i];
    }

    /** The parameter name given with the value, or null. */
    public String name(int i) {
        return names[i];
    }

    public long value(int i) {
        return values[i];
    }

    /** The {@code void**} for cuLaunchKernel; lives as long as {@code allocator}'s memory. */
    public MemorySegment pack(SegmentAllocator allocator) {
        MemorySegment slots = allocator.allocate(8L * Math.max(count, 1), 8);
        MemorySegment pointers = allocator.allocate(ADDRESS, Math.max(count, 1));
        for (int i = 0; i < count; i++) {
            long offset = 8L * i;
            switch (types[i]) {
                case PTR, I64 -> slots.set(JAVA_LONG, offset, values[i]);
                case I32 -> slots.set(JAVA_INT, offset, (int) values[i]);
                case F32 -> slots.set(JAVA_FLOAT, offset, Float.intBitsToFloat((int) values[i]));
            }
            pointers.setAtIndex(ADDRESS, i, slots.asSlice(offset, 8));
        }
        return pointers;
    }
}
