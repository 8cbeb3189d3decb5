package dev.mnv3.cuda;

import static dev.mnv3.cuda.KernelsGpuTest.assertClose;
import static dev.mnv3.cuda.KernelsGpuTest.random;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mnv3.core.Activation;
import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.ConvBnAct;
import java.util.HashMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import dev.mnv3.cuda.exec.CudnnConv;
import dev.mnv3.cuda.ffi.Cudnn;
import dev.mnv3.cuda.exec.ConvAlgorithm;
import dev.mnv3.cuda.plan.ForwardPlan;

/**
 * cuDNN's convolution + our epilogue, as StepLaunches runs the stem, expansions and projections, with
 * every algorithm candidate the plan may time and keep: at FP32 each must be exact to float
 * rounding (strict FMA math, whatever cuDNN reported for it), at TF32 within its tolerance.
 */
@Tag("gpu")
class CudnnConvGpuTest {
    @ParameterizedTest(name = "{0}->{1} k{2} s{3} {4}")
    @CsvSource({"3, 16, 3, 2, FP32", "37, 53, 1, 1, FP32", "24, 72, 1, 1, TF32", "3, 16, 3, 2, TF32"})
    void everyCandidateAlgorithmWithTheEpilogue(int inC, int outC, int k, int stride, Precision precision) {
        int n = 3, h = 23, w = 19;
        ConvBnAct conv = new ConvBnAct("test", inC, outC, k, stride, 1, 1, Activation.HARDSWISH);
        ForwardPlan.Ref in = new ForwardPlan.Ref(ForwardPlan.Buffer.ACT0, n, inC, h, w);
        ForwardPlan.Ref out = new ForwardPlan.Ref(ForwardPlan.Buffer.ACT1, n, outC, conv.outputSize(h), conv.outputSize(w));
        int total = (int) out.elements();
        float[] x = random((int) in.elements(), 13), wt = random(outC * inC * k * k, 14), bias = random(outC, 15);
        float[] res = random(total, 16);
        float[] want = CpuOps.conv(x, n, inC, h, w, wt, outC, k, stride, conv.padding(), 1, 1);
        CpuOps.biasAct(want, bias, res, outC, out.plane(), total, conv.activation());
        double tolerance = precision == Precision.FP32 ? 1e-6 : precision.tolerance();
        try (DeviceArrays d = new DeviceArrays()) {
            assumeTrue(d.runtime.cudnn() != null, "no cuDNN here: " + d.runtime.cudnnUnavailableReason());
            Cudnn dnn = d.runtime.cudnn().api();
            var handle = dnn.create();
            dnn.setStream(handle, d.stream);
            try (CudnnConv c = new CudnnConv(dnn, handle, conv, in, out, precision, new HashMap<>())) {
                assertFalse(c.candidates.isEmpty());
                long ws = c.workspaceBytes > 0 ? d.poisoned((int) (c.workspaceBytes / 4 + 1)) : 0;
                long dx = d.upload(x), dw = d.upload(wt), db = d.upload(bias), dr = d.upload(res);
                for (ConvAlgorithm.Choice choice : c.candidates) {
                    c.use(choice);
                    long dy = d.poisoned(total);
                    c.forward(handle, Cudnn.alphaBeta(d.args), dx, dw, dy, ws, c.workspaceBytes);
                    d.runtime.kernels.biasAct(d.args, d.stream, dy, db, dr, outC, out.plane(), total, conv.activation());
                    assertClose(d.download(dy, total), want, tolerance, precision + " " + choice);
                    assertTrue(d.guardIntact(dy, total));
                }
                System.out.println(conv + " " + precision + ": candidates " + c.candidates);
            } finally {
                dnn.destroy(handle);
            }
        }
    }
}
