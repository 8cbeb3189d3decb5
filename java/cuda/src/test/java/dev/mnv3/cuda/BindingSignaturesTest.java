package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Activation;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.ConvBnAct;
import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import dev.mnv3.cuda.exec.CudnnConv;
import dev.mnv3.cuda.exec.KernelLaunchers;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.ffi.Cudnn;
import dev.mnv3.cuda.ffi.KernelArgs;
import dev.mnv3.cuda.exec.ConvAlgorithm;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.LaunchGeometry;

/**
 * Every binding called once with every symbol pointing at libc's {@code sched_yield}, which takes
 * no arguments, ignores the ones it is given and returns 0 (CUDA_SUCCESS, CUDNN_STATUS_SUCCESS,
 * a null pointer). Without a GPU this still proves that each invokeExact call site matches its
 * FunctionDescriptor (a mismatch is a WrongMethodTypeException at the first call, which would
 * otherwise only show on the GPU machine) and that out-parameters are read back as written.
 */
class BindingSignaturesTest {
    private static final MemorySegment SCHED_YIELD = Linker.nativeLinker().defaultLookup().find("sched_yield").orElseThrow();
    private static final SymbolLookup FAKE = name -> Optional.of(SCHED_YIELD);
    private static final MemorySegment NULL = MemorySegment.NULL;

    @Test
    void driverBindings() {
        CudaDriver d = new CudaDriver(FAKE);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(64);
            assertEquals(0, d.init());
            assertEquals(0, d.driverVersion() + d.deviceCount() + d.device(0) + d.attribute(75, 0));
            assertEquals("", d.deviceName(0));
            d.setCurrent(d.retainPrimaryContext(0));
            assertEquals(2, d.memInfo().length);
            d.memFree(d.memAlloc(1024));
            assertEquals(16, d.memAllocHost(16).byteSize());
            d.memFreeHost(buf);
            MemorySegment stream = d.streamCreate();
            d.upload(0, buf, 4, stream);
            d.download(buf, 0, 4, stream);
            d.copyHtoDAsync(0, buf, 4, stream);
            d.copyDtoHAsync(buf, 0, 4, stream);
            d.memsetD32Async(0, DeviceArrays.NAN_BITS, 4, stream);
            d.streamSynchronize(stream);
            MemorySegment module = d.moduleLoadData(buf);
            LaunchGeometry.Launch g = LaunchGeometry.elementwise(10, 1);
            d.launch("k", d.moduleFunction(module, "k"), g.gridX(), g.gridY(), g.gridZ(), g.blockX(), g.blockY(), g.sharedBytes(),
                    stream, new KernelArgs().ptr(1).i32(2).i64(3).f32(4).pack(a));
            d.moduleUnload(module);
            MemorySegment start = d.eventCreate(), end = d.eventCreate();
            d.eventRecord(start, stream);
            d.eventSynchronize(end);
            assertEquals(0f, d.eventElapsedMillis(start, end));
            d.eventDestroy(start);
            d.beginCapture(stream);
            MemorySegment graph = d.endCapture(stream);
            MemorySegment exec = d.instantiate(graph);
            d.graphLaunch(exec, stream);
            d.graphExecDestroy(exec);
            d.graphDestroy(graph);
            d.streamDestroy(stream);
            d.check("cuAnything", 0);
        }
        assertEquals("cuMemAlloc_v2 failed: unknown error (2)", d.error("cuMemAlloc_v2", 2).getMessage(),
                "the fake driver knows no error names; the call and code are still there");
    }

    @Test
    void cudnnBindings() {
        Cudnn c = new Cudnn(FAKE);
        try (Arena a = Arena.ofConfined()) {
            assertEquals(0, c.version());
            MemorySegment handle = c.create();
            c.setStream(handle, NULL);
            MemorySegment x = c.tensor(2, 3, 5, 7), y = c.tensor(2, 4, 5, 7), w = c.filter(4, 3, 1, 1);
            MemorySegment conv = c.convolution(0, 1, 1, 1, Cudnn.CUDNN_FMA_MATH);
            assertTrue(c.forwardAlgorithms(handle, x, w, conv, y).isEmpty());
            assertEquals(0, c.workspaceSize(handle, x, w, conv, y, ConvAlgorithm.IMPLICIT_GEMM));
            c.forward(handle, Cudnn.alphaBeta(a)[0], x, 0, w, 0, conv, 0, 0, 0, Cudnn.alphaBeta(a)[1], y, 0);
            c.destroyConvolution(conv);
            c.destroyFilter(w);
            c.destroyTensor(x);
            c.destroy(handle);
        }
        assertEquals("cudnnConvolutionForward failed: unknown error (2000)", c.error("cudnnConvolutionForward", 2000).getMessage());
    }

    @Test
    void kernelLaunchersAndConvolutionSetup() {
        CudaDriver d = new CudaDriver(FAKE);
        KernelLaunchers k = KernelLaunchers.loaded(d, NULL, 132);
        try (Arena a = Arena.ofConfined()) {
            NativeContractTest.launchEveryKernel(k, a); // through the real cuLaunchKernel binding
        }
        Cudnn c = new Cudnn(FAKE);
        ConvBnAct pointwise = ConvBnAct.pointwise("p", 16, 64, Activation.RELU);
        HashMap<ConvAlgorithm.Key, ConvAlgorithm.Choice> chosen = new HashMap<>();
        try (CudnnConv conv = new CudnnConv(c, NULL, pointwise, new ForwardPlan.Ref(ForwardPlan.Buffer.ACT0, 2, 16, 8, 8),
                new ForwardPlan.Ref(ForwardPlan.Buffer.ACT1, 2, 64, 8, 8), Precision.FP32, chosen)) {
            assertEquals(ConvAlgorithm.IMPLICIT_GEMM, conv.choice().algo(), "no candidates: the always-supported fallback");
            assertEquals(List.of(conv.choice()), conv.candidates);
        }
        try (CudnnConv conv = new CudnnConv(c, NULL, pointwise, new ForwardPlan.Ref(ForwardPlan.Buffer.ACT0, 2, 16, 8, 8),
                new ForwardPlan.Ref(ForwardPlan.Buffer.ACT1, 2, 64, 8, 8), Precision.FP16, chosen)) {
            assertEquals(ConvAlgorithm.IMPLICIT_PRECOMP_GEMM, conv.choice().algo(), "16-bit NHWC falls back to precomputed GEMM");
            assertEquals(Cudnn.CUDNN_TENSOR_OP_MATH, conv.choice().mathType());
        }
    }
}
