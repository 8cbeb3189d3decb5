package dev.mnv3.cuda.plan;

import dev.mnv3.core.backend.FoldedConv;
import dev.mnv3.core.backend.SeWeights;
import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.graph.SqueezeExcite;
import dev.mnv3.core.weights.Weights;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every array the GPU reads, packed for one device allocation: convolutions with BatchNorm folded
 * in (once, on the host, in double precision by {@link FoldedConv}), SE and classifier weights as
 * they are (a bias-free SE with zero biases, {@link SeWeights}). Offsets are in bytes and 256-byte aligned, which cuDNN and coalesced loads like.
 *
 * <p>For FP16/BF16 plans (NHWC) the arrays cuDNN reads are converted to the storage type, dense
 * conv filters go from PyTorch's [out, in, k, k] to cuDNN's NHWC filter layout [out, k, k, in]
 * (the stem's input channels zero-padded as {@link ForwardPlan} pads the image), and depthwise
 * filters become tap-major [k * k, C] floats, so a thread's channels are adjacent. Biases and the
 * SE weights stay float: the kernels add and multiply in float.
 */
public final class WeightLayout {
    public static final int ALIGN_BYTES = 256;

    /** {@code data} as it will be stored: float, or rounded to {@code type} when uploaded. */
    public record Entry(String key, float[] data, StorageType type, long offset) {
        public long bytes() {
            return (long) data.length * type.bytes;
        }
    }

    /**
     * A conv's arrays as byte offsets into the weights allocation: the folded weight and bias as our
     * kernels read them, the weight as cuDNN reads it, and (FP16/BF16 stem only, else -1) the float
     * weight in PyTorch's layout that our stem kernel reads.
     */
    public record ConvSlots(long weight, long bias, long cudnnWeight, long floatStemWeight) {
    }

    /** An SE block's two FCs (float), as byte offsets. */
    public record SeSlots(long fc1Weight, long fc1Bias, long fc2Weight, long fc2Bias) {
    }

    /** A linear layer's weight (the storage type) and bias (float), as byte offsets. */
    public record DenseSlots(long weight, long bias) {
    }

    private final Map<String, Entry> entries;
    private final long totalBytes;
    private final Map<ConvBnAct, ConvSlots> convs;
    private final Map<SqueezeExcite, SeSlots> ses;
    private final Map<Linear, DenseSlots> denses;

    private WeightLayout(Packer p) {
        this.entries = Collections.unmodifiableMap(p.entries);
        this.totalBytes = p.offset;
        this.convs = p.convs;
        this.ses = p.ses;
        this.denses = p.denses;
    }

    /** Key of a convolution's folded weight. */
    public static String weight(ConvBnAct c) {
        return c.name() + ":folded.weight";
    }

    /**
     * Key of a depthwise conv's folded weight as cuDNN's grouped conv reads it: [C, 1, k, k], in
     * the storage type, which is also the NHWC filter layout [C, k, k, 1]. Float NCHW plans have
     * no such entry: their {@link #weight} is already that array.
     */
    public static String cudnnDepthwiseWeight(ConvBnAct c, StorageType storage) {
        return storage.isHalf() ? c.name() + ":folded.weight.cudnn" : weight(c);
    }

    /**
     * Key of the stem's folded weight in float, PyTorch's layout [out, in, k, k], which our stem
     * kernel reads in FP16/BF16 plans (cuDNN's copy is 16-bit and channel-padded).
     */
    public static String stemWeight(ConvBnAct c) {
        return c.name() + ":folded.weight.f32";
    }

    /** Key of a convolution's folded bias [out]. */
    public static String bias(ConvBnAct c) {
        return c.name() + ":folded.bias";
    }

    /** The float NCHW layout (FP32, TF32). */
    public static WeightLayout of(Graph graph, Weights weights) {
        return of(graph, weights, StorageType.F32);
    }

    public static WeightLayout of(Graph graph, Weights weights, StorageType storage) {
        Packer p = new Packer(storage);
        double eps = graph.config().bnEps();
        Node first = graph.nodes().getFirst();
        for (Node n : graph.nodes()) {
            switch (n) {
                case ConvBnAct c -> p.conv(FoldedConv.fold(c, weights, eps), n == first);
                case Bottleneck b -> {
                    if (b.expand() != null) p.conv(FoldedConv.fold(b.expand(), weights, eps), false);
                    p.conv(FoldedConv.fold(b.depthwise(), weights, eps), false);
                    if (b.se() != null) {
                        // a bias-free SE gets zero biases here, so the kernels always add one
                        SeWeights se = SeWeights.of(b.se(), weights);
                        String name = b.se().name();
                        p.ses.put(b.se(), new SeSlots(p.add(name + ".fc1.weight", se.fc1Weight(), StorageType.F32),
                                p.add(name + ".fc1.bias", se.fc1Bias(), StorageType.F32),
                                p.add(name + ".fc2.weight", se.fc2Weight(), StorageType.F32),
                                p.add(name + ".fc2.bias", se.fc2Bias(), StorageType.F32)));
                    }
                    p.conv(FoldedConv.fold(b.project(), weights, eps), false);
                }
                case Linear l -> {
                    // [out, in] is also our 1x1 kernel's filter layout: the linear runs as that conv in NHWC plans
                    p.denses.put(l, new DenseSlots(p.add(l.name() + ".weight", weights.data(l.name() + ".weight"), storage),
                            p.add(l.name() + ".bias", weights.data(l.name() + ".bias"), StorageType.F32)));
                }
                default -> { }
            }
        }
        return new WeightLayout(p);
    }

    private static final class Packer {
        final Map<String, Entry> entries = new LinkedHashMap<>();
        final Map<ConvBnAct, ConvSlots> convs = new IdentityHashMap<>();
        final Map<SqueezeExcite, SeSlots> ses = new IdentityHashMap<>();
        final Map<Linear, DenseSlots> denses = new IdentityHashMap<>();
        final StorageType storage;
        long offset;

        Packer(StorageType storage) {
            this.storage = storage;
        }

        /** Packs {@code data} under {@code key}; returns its offset. */
        long add(String key, float[] data, StorageType type) {
            Entry e = new Entry(key, data, type, offset);
            entries.put(key, e);
            offset += LaunchGeometry.ceilDiv(e.bytes(), ALIGN_BYTES) * ALIGN_BYTES;
            return e.offset();
        }

        void conv(FoldedConv f, boolean imageInput) {
            ConvBnAct c = f.conv();
            float[] w = f.weight();
            long weight, cudnnWeight, floatStem = -1;
            if (!storage.isHalf()) {
                weight = cudnnWeight = add(weight(c), w, StorageType.F32);
            } else if (c.isDepthwise()) {
                weight = add(weight(c), tapMajor(w, c.outChannels(), c.kernel() * c.kernel()), StorageType.F32);
                cudnnWeight = add(cudnnDepthwiseWeight(c, storage), w, storage);
            } else {
                int in = c.inChannels() / c.groups();
                int paddedIn = imageInput ? (in + ForwardPlan.NHWC_CHANNEL_ALIGN - 1) / ForwardPlan.NHWC_CHANNEL_ALIGN
                        * ForwardPlan.NHWC_CHANNEL_ALIGN : in;
                weight = cudnnWeight = add(weight(c), Layouts.channelsLast(w, c.outChannels(), in, paddedIn,
                        c.kernel() * c.kernel()), storage);
                if (imageInput) floatStem = add(stemWeight(c), w, StorageType.F32);
            }
            convs.put(c, new ConvSlots(weight, add(bias(c), f.bias(), StorageType.F32), cudnnWeight, floatStem));
        }
    }

    /** Depthwise [C, 1, taps] -> [taps, C]. */
    public static float[] tapMajor(float[] w, int channels, int taps) {
        return Layouts.channelsLast(w, 1, channels, channels, taps);
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public long totalBytes() {
        return totalBytes;
    }

    /** Offset in bytes of {@code key}. */
    public long offset(String key) {
        return entry(key).offset();
    }

    public ConvSlots conv(ConvBnAct c) {
        return slots(convs, c, c.name());
    }

    public SeSlots se(SqueezeExcite se) {
        return slots(ses, se, se.name());
    }

    public DenseSlots dense(Linear l) {
        return slots(denses, l, l.name());
    }

    private static <K, V> V slots(Map<K, V> m, K node, String name) {
        V v = m.get(node);
        if (v == null) throw new IllegalArgumentException("no device weights for " + name + " (a node of another graph?)");
        return v;
    }

    public Entry entry(String key) {
        Entry e = entries.get(key);
        if (e == null) throw new IllegalArgumentException("no device weight " + key);
        return e;
    }
}
