package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.weights.RandomWeights;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.StorageType;
import dev.mnv3.cuda.plan.WeightLayout;

/**
 * The device-memory traffic a plan implies (every step reads its inputs and weights and writes its
 * outputs once; caches ignored): a roofline for throughput without a GPU, and the price of each
 * unfused pass. A model, not a measurement; benchmarks/RESULTS.md quotes what it prints.
 */
class PlanTrafficTest {
    /** Bytes per image by kind of step. */
    static Map<String, Double> traffic(Graph graph, StorageType storage, int batch, boolean fusedPointwise) {
        return traffic(graph, storage, batch, fusedPointwise, ForwardPlan.InputSpec.F32);
    }

    static Map<String, Double> traffic(Graph graph, StorageType storage, int batch, boolean fusedPointwise,
                                       ForwardPlan.InputSpec spec) {
        ForwardPlan plan = ForwardPlan.of(graph, batch, 224, 224, storage, 132, spec);
        WeightLayout weights = WeightLayout.of(graph, RandomWeights.generate(graph, 1), storage);
        Map<String, Double> bytes = new LinkedHashMap<>();
        ForwardPlan.ToNhwc convert = plan.steps().stream().filter(s -> s instanceof ForwardPlan.ToNhwc)
                .map(s -> (ForwardPlan.ToNhwc) s).findFirst().orElse(null);
        for (ForwardPlan.Step s : plan.steps()) {
            switch (s) {
                case ForwardPlan.ToFloat t -> add(bytes, "input conversion", io(plan, t.raw()) + io(plan, t.out()));
                case ForwardPlan.Preprocess p -> add(bytes, "preprocessing", io(plan, p.images()) + 2 * io(plan, p.rows())
                        + io(plan, p.out()));
                case ForwardPlan.ToNhwc t when fusedPointwise -> { } // our stem reads the float input itself
                case ForwardPlan.ToNhwc t -> add(bytes, "input conversion", io(plan, t.in()) + io(plan, t.out()));
                case ForwardPlan.Conv c when fusedPointwise && convert != null && c.in() == convert.out() -> add(bytes,
                        "stem from the float input (ours)", io(plan, convert.in()) + io(plan, c.out()));
                case ForwardPlan.Conv c when fusedPointwise && !c.conv().isDepthwise() && !c.conv().isPointwise() -> add(bytes,
                        "stem, epilogue fused (ours)", io(plan, c.in()) + io(plan, c.out()) + w(weights, c.conv()) / batch);
                case ForwardPlan.Conv c when c.conv().isDepthwise() -> add(bytes, "depthwise (+ SE squeeze sums)",
                        io(plan, c.in()) + io(plan, c.out()) + (c.partial() == null ? 0 : io(plan, c.partial()))
                                + w(weights, c.conv()) / batch);
                case ForwardPlan.Conv c when fusedPointwise && c.conv().isPointwise() -> add(bytes, "1x1 conv, epilogue fused (ours)",
                        io(plan, c.in()) + io(plan, c.out()) + w(weights, c.conv()) / batch
                                + (c.residual() == null ? 0 : io(plan, c.residual())));
                case ForwardPlan.Conv c -> {
                    add(bytes, "dense conv (cuDNN)", io(plan, c.in()) + io(plan, c.out()) + w(weights, c.conv()) / batch);
                    add(bytes, "bias + act (+ residual) epilogue", 2 * io(plan, c.out())
                            + (c.residual() == null ? 0 : io(plan, c.residual())));
                }
                case ForwardPlan.Excite e -> add(bytes, "SE", (fusedPointwise ? 1 : 3) * io(plan, e.x()));
                // with the projection ours, the scale is applied as it reads its input (Lowering: Conv.scale)
                case ForwardPlan.ExciteFused e -> add(bytes, "SE", (fusedPointwise ? 0 : 2 * io(plan, e.x())) + io(plan, e.partial()));
                case ForwardPlan.Pool p -> add(bytes, "pool + classifier", io(plan, p.in()) + io(plan, p.out()));
                case ForwardPlan.Dense d -> add(bytes, "pool + classifier", io(plan, d.in()) + 2 * io(plan, d.out())
                        + (double) d.linear().inFeatures() * d.linear().outFeatures() * storage.bytes / batch);
                case ForwardPlan.Output o -> { }
            }
        }
        return bytes;
    }

    private static double io(ForwardPlan plan, ForwardPlan.Ref r) {
        return (double) r.elements() * plan.elementBytes(r.buffer()) / r.n();
    }

    private static double w(WeightLayout weights, ConvBnAct c) {
        return weights.entry(WeightLayout.weight(c)).bytes();
    }

    private static void add(Map<String, Double> bytes, String kind, double b) {
        bytes.merge(kind, b, Double::sum);
    }

    /**
     * Each precision with cuDNN running every dense conv and our epilogue after it, and with our
     * kernels fused where they run (what the driver-only mode always runs, and cuDNN mode where
     * ours times faster).
     */
    @Test
    void fp16HalvesTheTrafficFusionCutsMoreAndTheTableIsPrinted() {
        Graph large = Graph.of(MobileNetV3Config.large());
        double hbm = 3.35e12; // H100 SXM, bytes/s
        Map<String, Double> totals = new LinkedHashMap<>();
        for (StorageType s : new StorageType[] {StorageType.F32, StorageType.F16}) {
            for (boolean fuse : new boolean[] {false, true}) {
                Map<String, Double> t = traffic(large, s, 256, fuse);
                double total = t.values().stream().mapToDouble(Double::doubleValue).sum();
                String name = s + (fuse ? ", ours where fused (1x1 + epilogue + SE scale, stem)" : ", cuDNN convs + our epilogues");
                totals.put(name, total);
                System.out.printf("Large 224, batch 256, %s: %.2f MB per image, roofline at 3.35 TB/s %.0f img/s%n", name,
                        total / 1e6, hbm / total);
                t.forEach((k, v) -> System.out.printf("  %-34s %6.2f MB  %4.1f%%%n", k, v / 1e6, 100 * v / total));
            }
        }
        double[] t = totals.values().stream().mapToDouble(Double::doubleValue).toArray(); // F32, F32 fused, F16, F16 fused
        assertTrue(t[2] < 0.6 * t[0], "FP16 halves FP32's traffic: " + totals);
        assertTrue(t[1] < 0.8 * t[0] && t[3] < 0.8 * t[2], "fusing the 1x1 epilogues saves a fifth or more: " + totals);
    }

    /**
     * Raw U8 images preprocessed on the device (issue 17): what crosses PCIe per image, against the
     * float input, and the preprocessing's share of the plan's traffic, for a camera frame and for
     * images the host already resized and cropped to 224 (the device then only normalizes).
     */
    @Test
    void rawImagesCrossPcieInBytesAndTheirPreprocessingIsASmallShare() {
        Graph large = Graph.of(MobileNetV3Config.large());
        double floatInput = 3 * 224 * 224 * Float.BYTES;
        double[] shares = new double[2];
        int i = 0;
        for (int[] src : new int[][] {{480, 640}, {224, 224}}) {
            Preprocessing p = src[0] == 224 ? new Preprocessing(224, 224) : Preprocessing.imagenet();
            Map<String, Double> t = traffic(large, StorageType.F16, 256, true, ForwardPlan.InputSpec.images(p, src[0], src[1]));
            double total = t.values().stream().mapToDouble(Double::doubleValue).sum(), pre = t.get("preprocessing");
            shares[i++] = pre / total;
            System.out.printf("Large 224, batch 256, F16 fused, from U8 %dx%d images: upload %.0f KB per image (float input %.0f KB),"
                    + " preprocessing %.2f MB of %.2f MB per image (%.1f%%)%n", src[1], src[0], src[0] * src[1] * 3 / 1e3,
                    floatInput / 1e3, pre / 1e6, total / 1e6, 100 * pre / total);
        }
        // the model as it stands (benchmarks/RESULTS.md): the goal of 5% is met for neither, by a hair for 224x224 crops
        assertTrue(shares[1] < 0.055, "normalizing a 224x224 U8 crop on the device: " + shares[1]);
        assertTrue(shares[0] < 0.10, "a 640x480 frame's preprocessing: " + shares[0]);
    }
}
