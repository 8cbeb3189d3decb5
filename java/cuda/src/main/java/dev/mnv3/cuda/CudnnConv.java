package dev.mnv3.cuda;

import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.ConvBnAct;
import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * One convolution at one shape, as cuDNN runs it: input, filter, convolution and output
 * descriptors, the algorithm (chosen once per distinct shape, see {@link ConvAlgorithm}) and the
 * workspace it needs. The bias and activation are left to our epilogue kernel.
 */
final class CudnnConv implements AutoCloseable {
    private final Cudnn dnn;
    private MemorySegment x, w, conv, y;
    final int algo;
    final long workspaceBytes;

    /**
     * {@code in.c()} may exceed {@code c.inChannels()}: NHWC plans zero-pad the image's channels,
     * and {@link WeightLayout} pads the stem's filter to match.
     */
    CudnnConv(Cudnn dnn, MemorySegment handle, ConvBnAct c, ForwardPlan.Ref in, ForwardPlan.Ref out, Precision precision,
              Map<ConvAlgorithm.Key, ConvAlgorithm.Choice> chosen) {
        this.dnn = dnn;
        Storage s = Storage.of(precision);
        try {
            x = dnn.tensor(s, in.n(), in.c(), in.h(), in.w());
            y = dnn.tensor(s, out.n(), out.c(), out.h(), out.w());
            w = dnn.filter(s, c.outChannels(), in.c() / c.groups(), c.kernel(), c.kernel());
            conv = dnn.convolution(c.padding(), c.stride(), c.dilation(), c.groups(), ConvAlgorithm.mathType(precision));
            ConvAlgorithm.Key key = ConvAlgorithm.Key.of(c, in, precision);
            ConvAlgorithm.Choice choice = chosen.computeIfAbsent(key,
                    k -> ConvAlgorithm.choose(dnn.forwardAlgorithms(handle, x, w, conv, y), precision));
            dnn.setMathType(conv, choice.mathType());
            algo = choice.algo();
            workspaceBytes = dnn.workspaceSize(handle, x, w, conv, y, algo);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Enqueues y = conv(x, w) on the handle's stream. */
    void forward(MemorySegment handle, MemorySegment[] alphaBeta, long xPtr, long wPtr, long yPtr, long workspace,
                 long workspaceSize) {
        dnn.forward(handle, alphaBeta[0], x, xPtr, w, wPtr, conv, algo, workspace, workspaceSize, alphaBeta[1], y, yPtr);
    }

    @Override
    public void close() {
        if (x != null) dnn.destroyTensor(x);
        if (y != null) dnn.destroyTensor(y);
        if (w != null) dnn.destroyFilter(w);
        if (conv != null) dnn.destroyConvolution(conv);
        x = y = w = conv = null;
    }
}
