package dev.mnv3.cuda.exec;

import dev.mnv3.core.backend.Precision;
import dev.mnv3.core.graph.ConvBnAct;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import dev.mnv3.cuda.ffi.Cudnn;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.StorageType;

/**
 * One convolution at one shape, as cuDNN runs it: input, filter, convolution and output
 * descriptors, and the algorithm. An algorithm already chosen for this shape (by any lane) is
 * reused; otherwise the acceptable candidates ({@link ConvAlgorithm}) are kept, with the largest
 * workspace any of them needs, until {@link KernelTuner} has timed them and calls {@link #use}.
 * The bias and activation are left to our epilogue kernel.
 */
public final class CudnnConv implements AutoCloseable {
    private final Cudnn dnn;
    private MemorySegment x, w, conv, y;
    public final ConvAlgorithm.Key key;
    /** Every algorithm this conv may run with; one when the choice was made before. */
    public final List<ConvAlgorithm.Choice> candidates;
    /** Enough for any candidate. */
    public final long workspaceBytes;
    private ConvAlgorithm.Choice choice;

    /**
     * {@code in.c()} may exceed {@code c.inChannels()}: NHWC plans zero-pad the image's channels,
     * and {@link dev.mnv3.cuda.plan.WeightLayout} pads the stem's filter to match.
     */
    public CudnnConv(Cudnn dnn, MemorySegment handle, ConvBnAct c, ForwardPlan.Ref in, ForwardPlan.Ref out, Precision precision,
              Map<ConvAlgorithm.Key, ConvAlgorithm.Choice> chosen) {
        this.dnn = dnn;
        StorageType s = StorageType.of(precision);
        try {
            x = dnn.tensor(s.cudnnType, s.isHalf(), in.n(), in.c(), in.h(), in.w());
            y = dnn.tensor(s.cudnnType, s.isHalf(), out.n(), out.c(), out.h(), out.w());
            w = dnn.filter(s.cudnnType, s.isHalf(), c.outChannels(), in.c() / c.groups(), c.kernel(), c.kernel());
            conv = dnn.convolution(c.padding(), c.stride(), c.dilation(), c.groups(), ConvAlgorithm.mathType(precision));
            key = ConvAlgorithm.Key.of(c, in, precision);
            ConvAlgorithm.Choice known = chosen.get(key);
            List<ConvAlgorithm.Choice> offered = known != null ? List.of(known)
                    : ConvAlgorithm.candidates(dnn.forwardAlgorithms(handle, x, w, conv, y).stream()
                    .map(ConvAlgorithm.Candidate::of).toList(), precision);
            // a candidate whose workspace cuDNN will not size (not supported with this math type) is dropped
            List<ConvAlgorithm.Choice> usable = new ArrayList<>();
            long most = 0;
            RuntimeException firstFailure = null;
            for (ConvAlgorithm.Choice ch : offered) {
                try {
                    dnn.setMathType(conv, ch.mathType());
                    most = Math.max(most, dnn.workspaceSize(handle, x, w, conv, y, ch.algo()));
                    usable.add(ch);
                } catch (RuntimeException e) {
                    if (firstFailure == null) firstFailure = e;
                }
            }
            if (usable.isEmpty()) throw firstFailure;
            candidates = List.copyOf(usable);
            workspaceBytes = most;
            if (candidates.size() == 1) use(candidates.getFirst());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Runs with {@code c} from now on (one of {@link #candidates}). */
    public void use(ConvAlgorithm.Choice c) {
        if (!candidates.contains(c)) throw new IllegalArgumentException(c + " is not a candidate of " + key);
        dnn.setMathType(conv, c.mathType());
        choice = c;
    }

    /** Null until chosen. */
    public ConvAlgorithm.Choice choice() {
        return choice;
    }

    /** Enqueues y = conv(x, w) on the handle's stream. */
    public void forward(MemorySegment handle, MemorySegment[] alphaBeta, long xPtr, long wPtr, long yPtr, long workspace,
                 long workspaceSize) {
        if (choice == null) throw new IllegalStateException(key + ": no algorithm chosen yet");
        dnn.forward(handle, alphaBeta[0], x, xPtr, w, wPtr, conv, choice.algo(), workspace, workspaceSize, alphaBeta[1], y,
                yPtr);
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
