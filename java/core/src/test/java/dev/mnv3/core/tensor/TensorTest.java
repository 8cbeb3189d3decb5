package dev.mnv3.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TensorTest {

    @Test
    void dataLengthMustMatchTheShape() {
        var e = assertThrows(IllegalArgumentException.class, () -> new Tensor(new int[] {2, 3}, new float[5]));
        assertEquals("shape [2,3] holds 6 values, data has 5", e.getMessage());
    }

    @Test
    void negativeDimensionIsRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, -1));
        assertEquals("negative dimension in [2,-1]", e.getMessage());
    }

    @Test
    void tooLargeForOneArrayIsRejected() {
        var e = assertThrows(MemoryLimitException.class, () -> Tensor.zeros(65536, 65536));
        assertEquals("a tensor [65536,65536] holds 4,294,967,296 values, more than one Java array can hold (2,147,483,639)",
                e.getMessage());
    }

    @Test
    void shapeIsCopiedInAndOut() {
        int[] shape = {2, 2};
        Tensor t = new Tensor(shape, new float[4]);
        shape[0] = 1;
        t.shape()[1] = 7;
        assertArrayEquals(new int[] {2, 2}, t.shape());
        assertEquals(2, t.rank());
        assertEquals(2, t.dim(1));
        assertEquals(4, t.size());
        assertEquals("Tensor[2,2]", t.toString());
    }

    @Test
    void reshapeSharesTheData() {
        Tensor t = Tensor.zeros(2, 3);
        Tensor r = t.reshape(3, 2);
        assertSame(t.data(), r.data());
        assertArrayEquals(new int[] {3, 2}, r.shape());
        assertThrows(IllegalArgumentException.class, () -> t.reshape(4, 2));
    }

    @Test
    void sliceCopiesWholeImagesOfTheLeadingDimension() {
        float[] d = new float[12];
        for (int i = 0; i < d.length; i++) d[i] = i;
        Tensor t = new Tensor(new int[] {3, 2, 2}, d);
        Tensor s = t.slice(1, 3);
        assertArrayEquals(new int[] {2, 2, 2}, s.shape());
        assertArrayEquals(new float[] {4, 5, 6, 7, 8, 9, 10, 11}, s.data());
        s.data()[0] = -1;
        assertEquals(4, d[4], "a slice is a copy");
    }

    @Test
    void scalarShapeHoldsOneValue() {
        assertEquals(1, Tensor.numel(new int[0]));
        assertEquals(0, Tensor.numel(new int[] {4, 0}));
    }

    @Test
    void halfTensorsHoldTheirBitsAndWidenExactly() {
        Tensor f = new Tensor(new int[] {2, 2}, new float[] {1f, -2.5f, 65504f, 1e-8f});
        Tensor h = f.to(DType.F16);
        assertEquals(DType.F16, h.dtype());
        assertArrayEquals(new short[] {0x3c00, (short) 0xc100, 0x7bff, 0}, h.halves(), "1e-8 rounds to F16's zero");
        assertArrayEquals(new float[] {1f, -2.5f, 65504f, 0f}, h.toFloat().data());
        Tensor b = f.to(DType.BF16);
        assertEquals((short) 0x3f80, b.halves()[0]);
        assertEquals(-2.5f, b.toFloat().data()[1]);
        assertSame(f, f.toFloat());
        assertSame(h, h.to(DType.F16));
        assertEquals(0, h.to(DType.BF16).countNonFinite());
        assertEquals(1, new Tensor(new int[] {2}, new float[] {1e6f, 0}).to(DType.F16).countNonFinite(), "1e6 overflows F16");
        var e = assertThrows(IllegalStateException.class, h::data);
        assertEquals("a F16 tensor has no float data; convert it with toFloat()", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> f.to(DType.U8));
        assertThrows(IllegalArgumentException.class, () -> Tensor.ofHalves(DType.U8, new int[] {1}, new short[1]));
    }

    @Test
    void byteTensorsReadUnsignedAndSliceByTheirLeadingDimension() {
        byte[] px = {0, 127, (byte) 128, (byte) 255, 1, 2};
        Tensor u8 = Tensor.ofBytes(new int[] {2, 1, 1, 3}, px);
        assertEquals(DType.U8, u8.dtype());
        assertArrayEquals(new float[] {0, 127, 128, 255, 1, 2}, u8.toFloat().data());
        Tensor second = u8.slice(1, 2);
        assertArrayEquals(new byte[] {(byte) 255, 1, 2}, second.bytes());
        assertArrayEquals(new int[] {1, 1, 1, 3}, second.shape());
        assertEquals(DType.U8, u8.reshape(6).dtype());
        assertEquals("Tensor[2,1,1,3] U8", u8.toString());
        assertThrows(IllegalStateException.class, u8::halves);
    }

    @Test
    void offHeapTensorsReadTheirSegmentLittleEndian() {
        try (HostTensor h = HostTensor.offHeap(DType.F16, 2, 2)) {
            Tensor t = h.tensor();
            java.lang.foreign.MemorySegment m = t.segment();
            for (int i = 0; i < 4; i++) {
                m.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 2L * i,
                        DType.F16.encode(i + 0.5f));
            }
            assertArrayEquals(new float[] {0.5f, 1.5f, 2.5f, 3.5f}, t.toFloat().data());
            assertArrayEquals(new short[] {DType.F16.encode(2.5f), DType.F16.encode(3.5f)}, t.slice(1, 2).halves());
            assertEquals(4, t.reshape(4).size());
            assertEquals("an off-heap tensor has no array; use segment()", assertThrows(IllegalStateException.class, t::halves)
                    .getMessage());
            assertTrue(t.toString().endsWith("F16 off-heap"), t.toString());
        }
        assertThrows(IllegalArgumentException.class, () -> Tensor.ofSegment(DType.F32, new int[] {2},
                java.lang.foreign.MemorySegment.ofArray(new byte[8])), "heap memory is not off-heap");
    }
}
