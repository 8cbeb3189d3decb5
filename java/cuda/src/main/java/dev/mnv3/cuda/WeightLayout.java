package dev.mnv3.cuda;

import dev.mnv3.core.backend.FoldedConv;
import dev.mnv3.core.backend.SeWeights;
import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.weights.Weights;
import java.util.Collections;
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
final class WeightLayout {
    static final int ALIGN_BYTES = 256;

    /** {@code data} as it will be stored: float, or rounded to {@code type} when uploaded. */
    record Entry(String key, float[] data, Storage type, long offset) {
        long bytes() {
            return (long) data.length * type.bytes;
        }
    }

    private final Map<String, Entry> entries;
    private final long totalBytes;

    private WeightLayout(Map<String, Entry> entries, long totalBytes) {
        this.entries = Collections.unmodifiableMap(entries);
        this.totalBytes = totalBytes;
    }

    /** Key of a convolution's folded weight. */
    static String weight(ConvBnAct c) {
        return c.name() + ":folded.weight";
    }

    /**
     * Key of a depthwise conv's folded weight as cuDNN's grouped conv reads it: [C, 1, k, k], in
     * the storage type, which is also the NHWC filter layout [C, k, k, 1]. Float NCHW plans have
     * no such entry: their {@link #weight} is already that array.
     */
    static String cudnnDepthwiseWeight(ConvBnAct c, Storage storage) {
        return storage.isHalf() ? c.name() + ":folded.weight.cudnn" : weight(c);
    }

    /**
     * Key of the stem's folded weight in float, PyTorch's layout [out, in, k, k], which our stem
     * kernel reads in FP16/BF16 plans (cuDNN's copy is 16-bit and channel-padded).
     */
    static String stemWeight(ConvBnAct c) {
        return c.name() + ":folded.weight.f32";
    }

    /** Key of a convolution's folded bias [out]. */
    static String bias(ConvBnAct c) {
        return c.name() + ":folded.bias";
    }

    /** The float NCHW layout (FP32, TF32). */
    static WeightLayout of(Graph graph, Weights weights) {
        return of(graph, weights, Storage.F32);
    }

    static WeightLayout of(Graph graph, Weights weights, Storage storage) {
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
                        p.add(name + ".fc1.weight", se.fc1Weight(), Storage.F32);
                        p.add(name + ".fc1.bias", se.fc1Bias(), Storage.F32);
                        p.add(name + ".fc2.weight", se.fc2Weight(), Storage.F32);
                        p.add(name + ".fc2.bias", se.fc2Bias(), Storage.F32);
                    }
                    p.conv(FoldedConv.fold(b.project(), weights, eps), false);
                }
                case Linear l -> {
                    // [out, in] is also our 1x1 kernel's filter layout: the linear runs as that conv in NHWC plans
                    p.add(l.name() + ".weight", weights.data(l.name() + ".weight"), storage);
                    p.add(l.name() + ".bias", weights.data(l.name() + ".bias"), Storage.F32);
                }
                default -> { }
            }
        }
        return new WeightLayout(p.entries, p.offset);
    }

    private static final class Packer {
        final Map<String, Entry> entries = new LinkedHashMap<>();
        final Storage storage;
        long offset;

        Packer(Storage storage) {
            this.storage = storage;
        }

        void add(String key, float[] data, Storage type) {
            Entry e = new Entry(key, data, type, offset);
            entries.put(key, e);
            offset += LaunchGeometry.ceilDiv(e.bytes(), ALIGN_BYTES) * ALIGN_BYTES;
        }

        void conv(FoldedConv f, boolean imageInput) {
            ConvBnAct c = f.conv();
            float[] w = f.weight();
            if (!storage.isHalf()) {
                add(weight(c), w, Storage.F32);
            } else if (c.isDepthwise()) {
                add(weight(c), tapMajor(w, c.outChannels(), c.kernel() * c.kernel()), Storage.F32);
                add(cudnnDepthwiseWeight(c, storage), w, storage);
            } else {
                int in = c.inChannels() / c.groups();
                int paddedIn = imageInput ? (in + ForwardPlan.NHWC_CHANNEL_ALIGN - 1) / ForwardPlan.NHWC_CHANNEL_ALIGN
                        * ForwardPlan.NHWC_CHANNEL_ALIGN : in;
                add(weight(c), Layouts.channelsLast(w, c.outChannels(), in, paddedIn, c.kernel() * c.kernel()), storage);
                if (imageInput) add(stemWeight(c), w, Storage.F32);
            }
            add(bias(c), f.bias(), Storage.F32);
        }
    }

    /** Depthwise [C, 1, taps] -> [taps, C]. */
    static float[] tapMajor(float[] w, int channels, int taps) {
        return Layouts.channelsLast(w, 1, channels, channels, taps);
    }

    Map<String, Entry> entries() {
        return entries;
    }

    long totalBytes() {
        return totalBytes;
    }

    /** Offset in bytes of {@code key}. */
    long offset(String key) {
        return entry(key).offset();
    }

    Entry entry(String key) {
        Entry e = entries.get(key);
        if (e == null) throw new IllegalArgumentException("no device weight " + key);
        return e;
    }
}
