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
}
