package dev.mnv3.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import dev.mnv3.cuda.ffi.KernelArgs;

/** cuLaunchKernel's argument array, read back the way the driver reads it. */
class KernelArgsTest {
    @Test
    void eachPointerPointsToItsValueWithTheRightWidth() {
        try (Arena arena = Arena.ofConfined()) {
            KernelArgs args = new KernelArgs().ptr(0x7f00_1234_5678L).i32(-7).i64(1L << 40).f32(0.25f).ptr(0);
            MemorySegment array = args.pack(arena);
            assertEquals(5, args.count());
            MemorySegment[] p = new MemorySegment[5];
            for (int i = 0; i < 5; i++) {
                p[i] = array.getAtIndex(ADDRESS, i).reinterpret(8);
                assertEquals(0, p[i].address() % 8, "slot " + i + " is 8-byte aligned");
            }
            assertEquals(0x7f00_1234_5678L, p[0].get(JAVA_LONG, 0));
            assertEquals(-7, p[1].get(JAVA_INT, 0));
            assertEquals(1L << 40, p[2].get(JAVA_LONG, 0));
            assertEquals(0.25f, p[3].get(JAVA_FLOAT, 0));
            assertEquals(0L, p[4].get(JAVA_LONG, 0), "a null pointer argument is the value 0");
        }
    }

    @Test
    void manyArgumentsGrowTheArray() {
        try (Arena arena = Arena.ofConfined()) {
            KernelArgs args = new KernelArgs();
            for (int i = 0; i < 20; i++) args.i32(i * 3);
            MemorySegment array = args.pack(arena);
            for (int i = 0; i < 20; i++) assertEquals(i * 3, array.getAtIndex(ADDRESS, i).reinterpret(4).get(JAVA_INT, 0));
        }
    }
}
