package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import dev.mnv3.cuda.ffi.CudaException;

/** How a failed call reads: the call, the library's name for the code, the code, its description. */
class CudaExceptionTest {
    @Test
    void driverErrorNamesTheCallTheCodeAndTheDriversWords() {
        CudaException e = new CudaException("cuMemAlloc_v2", 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");
        assertEquals("cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", e.getMessage());
        assertEquals("cuMemAlloc_v2", e.call());
        assertEquals(2, e.code());
    }

    @Test
    void cudnnErrorWithoutDetailIsNotRepeated() {
        assertEquals("cudnnConvolutionForward failed: CUDNN_STATUS_BAD_PARAM (2000)",
                new CudaException("cudnnConvolutionForward", 2000, "CUDNN_STATUS_BAD_PARAM", "CUDNN_STATUS_BAD_PARAM").getMessage());
        assertEquals("cudnnConvolutionForward failed: CUDNN_STATUS_BAD_PARAM (2000): bad stride",
                new CudaException("cudnnConvolutionForward", 2000, "CUDNN_STATUS_BAD_PARAM", "bad stride").getMessage());
    }

    @Test
    void aCodeTheLibraryDoesNotKnowIsStillReported() {
        assertEquals("cuLaunchKernel(mnv3_linear) failed: unknown error (9999)",
                new CudaException("cuLaunchKernel(mnv3_linear)", 9999, null, null).getMessage());
    }
}
