package dev.mnv3.cuda;

import dev.mnv3.core.backend.FoldedConv;
import dev.mnv3.core.graph.Bottleneck;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Linear;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.graph.SqueezeExcite;
import dev.mnv3.core.weights.Weights;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every array the GPU reads, packed for one device allocation: convolutions with BatchNorm folded
 * in (once, on the host, in double precision by {@link FoldedConv}), SE and classifier weights as
 * they are. Offsets are in floats and 256-byte aligned, which cuDNN and coalesced loads like.
 */
final class WeightLayout {
    static final int ALIGN_FLOATS = 64;

    record Entry(String key, float[] data, long offset) {
    }

    private final Map<String, Entry> entries;
    private final long totalFloats;

    private WeightLayout(Map<String, Entry> entries, long totalFloats) {
        this.entries = Collections.unmodifiableMap(entries);
        this.totalFloats = totalFloats;
    }

    /** Key of a convolution's folded weight [out, in/groups, k, k]. */
    static String weight(ConvBnAct c) {
        return c.name() + ":folded.weight";
    }

    /** Key of a convolution's folded bias [out]. */
    static String bias(ConvBnAct c) {
        return c.name() + ":folded.bias";
    }

    static WeightLayout of(Graph graph, Weights weights) {
        double eps = graph.config().bnEps();
        List<Map.Entry<String, float[]>> arrays = new ArrayList<>();
        for (Node n : graph.nodes()) {
            switch (n) {
                case ConvBnAct c -> addConv(arrays, FoldedConv.fold(c, weights, eps));
                case Bottleneck b -> {
                    if (b.expand() != null) addConv(arrays, FoldedConv.fold(b.expand(), weights, eps));
                    addConv(arrays, FoldedConv.fold(b.depthwise(), weights, eps));
                    SqueezeExcite se = b.se();
                    if (se != null) {
                        for (String p : List.of(".fc1.weight", ".fc1.bias", ".fc2.weight", ".fc2.bias")) {
                            arrays.add(Map.entry(se.name() + p, weights.data(se.name() + p)));
                        }
                    }
                    addConv(arrays, FoldedConv.fold(b.project(), weights, eps));
                }
                case Linear l -> {
                    arrays.add(Map.entry(l.name() + ".weight", weights.data(l.name() + ".weight")));
                    arrays.add(Map.entry(l.name() + ".bias", weights.data(l.name() + ".bias")));
                }
                default -> { }
            }
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        long offset = 0;
        for (Map.Entry<String, float[]> a : arrays) {
            entries.put(a.getKey(), new Entry(a.getKey(), a.getValue(), offset));
            offset += LaunchGeometry.ceilDiv(a.getValue().length, ALIGN_FLOATS) * ALIGN_FLOATS;
        }
        return new WeightLayout(entries, offset);
    }

    private static void addConv(List<Map.Entry<String, float[]>> arrays, FoldedConv f) {
        arrays.add(Map.entry(weight(f.conv()), f.weight()));
        arrays.add(Map.entry(bias(f.conv()), f.bias()));
    }

    Map<String, Entry> entries() {
        return entries;
    }

    long totalFloats() {
        return totalFloats;
    }

    /** Offset in floats of {@code key}. */
    long offset(String key) {
        Entry e = entries.get(key);
        if (e == null) throw new IllegalArgumentException("no device weight " + key);
        return e.offset();
    }
}
