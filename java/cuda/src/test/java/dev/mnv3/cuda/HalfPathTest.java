package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Activation;
import dev.mnv3.core.BottleneckSpec;
import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.Node;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.Lowering;
import dev.mnv3.cuda.plan.KernelChoice;
import dev.mnv3.cuda.plan.LaunchGeometry;
import dev.mnv3.cuda.plan.Layouts;
import dev.mnv3.cuda.plan.StorageType;
import dev.mnv3.cuda.plan.WeightLayout;

/** The host side of the FP16/BF16 path: conversions, weight layouts, launch sizes and the NHWC plan. */
class HalfPathTest {
    @Test
    void conversionsRoundToNearestEvenLikeTheDevice() {
        // 1 + 2^-11 lies halfway between two halves; ties go to the even one (1.0)
        assertEquals(1f, StorageType.F16.round(1f + 0x1p-11f));
        assertEquals(1f + 0x1p-9f, StorageType.F16.round(1f + 0x1p-10f + 0x1p-11f));
        assertEquals(65504f, StorageType.F16.round(65504f));
        assertEquals(Float.POSITIVE_INFINITY, StorageType.F16.round(65520f));
        // bf16 keeps 8 significant bits: 1 + 2^-8 is a tie that goes down, 1 + 3 * 2^-8 goes up
        assertEquals(1f, StorageType.BF16.round(1f + 0x1p-8f));
        assertEquals(1f + 0x1p-6f, StorageType.BF16.round(1f + 3 * 0x1p-8f));
        assertEquals(-2.5f, StorageType.BF16.round(-2.5f));
        assertTrue(Float.isNaN(StorageType.BF16.round(Float.NaN)));
        assertTrue(Float.isNaN(StorageType.F16.round(Float.NaN)));
        assertEquals(Float.NEGATIVE_INFINITY, StorageType.BF16.round(Float.NEGATIVE_INFINITY));
        assertEquals(0.1f, StorageType.F32.round(0.1f));
    }

    @Test
    void denseFiltersGoChannelsLastWithThePaddedStemAndDepthwiseGoesTapMajor() {
        // [out 2, in 3, taps 2] -> [out, taps, in padded to 4]
        float[] w = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        assertArrayEquals(new float[] {1, 3, 5, 0, 2, 4, 6, 0, 7, 9, 11, 0, 8, 10, 12, 0}, Layouts.channelsLast(w, 2, 3, 4, 2));
        // [C 3, taps 2] -> [taps, C]
        assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, WeightLayout.tapMajor(new float[] {1, 2, 3, 4, 5, 6}, 3, 2));

        Graph g = Graph.of(MobileNetV3Config.small());
        WeightLayout half = WeightLayout.of(g, RandomWeights.generate(g, 3), StorageType.F16);
        ConvBnAct stem = (ConvBnAct) g.nodes().getFirst();
        WeightLayout.Entry e = half.entry(WeightLayout.weight(stem));
        assertEquals(StorageType.F16, e.type());
        assertEquals(stem.outChannels() * 9 * ForwardPlan.NHWC_CHANNEL_ALIGN, e.data().length, "stem padded to 8 channels");
        assertEquals(StorageType.F32, half.entry(WeightLayout.bias(stem)).type());
        WeightLayout.Entry forOurStem = half.entry(WeightLayout.stemWeight(stem));
        assertEquals(StorageType.F32, forOurStem.type(), "our stem kernel reads float weights in PyTorch's layout");
        assertEquals(stem.outChannels() * 3 * 9, forOurStem.data().length);
        assertThrows(IllegalArgumentException.class, () -> WeightLayout.of(g, RandomWeights.generate(g, 3))
                .entry(WeightLayout.stemWeight(stem)), "float NCHW plans run the stem on cuDNN only");
        assertEquals(StorageType.F16, half.entry("classifier.3.weight").type());
        assertEquals(StorageType.F32, half.entry("features.1.block.1.fc1.weight").type());
        long end = 0;
        for (WeightLayout.Entry x : half.entries().values()) {
            assertEquals(0, x.offset() % WeightLayout.ALIGN_BYTES, x.key());
            assertTrue(x.offset() >= end, x.key());
            end = x.offset() + x.bytes();
        }
        assertTrue(half.totalBytes() < WeightLayout.of(g, RandomWeights.generate(g, 3)).totalBytes(), "16-bit filters are smaller");
    }

    /** Both depthwise implementations read the same folded weights, each in its own layout: same result. */
    @Test
    void cudnnsDepthwiseWeightsGiveWhatOurKernelComputes() {
        Graph g = Graph.of(MobileNetV3Config.large());
        WeightLayout layout = WeightLayout.of(g, RandomWeights.generate(g, 4), StorageType.F16);
        ConvBnAct dw = ((dev.mnv3.core.graph.Bottleneck) g.nodes().get(4)).depthwise(); // 5x5, stride 2, 72 channels
        int c = dw.outChannels(), k = dw.kernel(), h = 13, w = 11;
        float[] x = RandomWeights.input(1, h, w * c / 3, 9).data(); // any values, [1, h, w, c] as NHWC
        x = java.util.Arrays.copyOf(x, h * w * c);
        float[] cudnnW = layout.entry(WeightLayout.cudnnDepthwiseWeight(dw, StorageType.F16)).data();
        float[] ourW = layout.entry(WeightLayout.weight(dw)).data();
        float[] zero = new float[c];
        float[] viaCudnn = NhwcOps.conv(x, 1, c, h, w, cudnnW, c, k, dw.stride(), dw.padding(), dw.dilation(), c);
        float[] viaOurs = NhwcOps.depthwise(x, 1, c, h, w, ourW, zero, k, dw.stride(), dw.padding(), dw.dilation(),
                Activation.IDENTITY, StorageType.F32, null, 1, 1);
        assertEquals(viaOurs.length, viaCudnn.length);
        for (int i = 0; i < viaOurs.length; i++) assertEquals(viaOurs[i], viaCudnn[i], 1e-4 * (1 + Math.abs(viaOurs[i])), "at " + i);
        assertEquals(WeightLayout.weight(dw), WeightLayout.cudnnDepthwiseWeight(dw, StorageType.F32), "float NCHW shares the array");
    }

    @Test
    void theOtherImplementationReplacesThePreferredOnlyWhenClearlyFasterAndTheModeIsChecked() {
        KernelChoice.Impl ours = KernelChoice.Impl.OURS, cudnn = KernelChoice.Impl.CUDNN;
        assertEquals(ours, KernelChoice.faster(ours, 1.0, 0.97), "within the margin");
        assertEquals(cudnn, KernelChoice.faster(ours, 1.0, 0.5));
        assertEquals(ours, KernelChoice.faster(ours, 1.0, Double.NaN), "cuDNN could not run it");
        assertEquals(cudnn, KernelChoice.faster(cudnn, 0.97, 1.0), "within the margin the other way");
        assertEquals(ours, KernelChoice.faster(cudnn, 0.5, 1.0));
        assertEquals(ours, KernelChoice.faster(cudnn, 2.0, Double.NaN), "the preferred could not run it");
    }

    @Test
    void pointwiseLaunchTilesTheOutputIn64By64() {
        LaunchGeometry.Launch l = LaunchGeometry.pointwise(256L * 56 * 56, 72);
        assertEquals(12544, l.gridX());
        assertEquals(2, l.gridY());
        assertEquals(128, l.blockX());
        assertEquals(1, LaunchGeometry.pointwise(1, 1).gridX());
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.pointwise(0, 8));
    }

    @Test
    void depthwiseLaunchCoversChannelsAndPixelsWithinTheBlockLimit() {
        LaunchGeometry.Launch l = LaunchGeometry.depthwiseNhwc(9, 56 * 56, 1, 132); // 72 channels, 8 at a time
        assertEquals(9, l.blockX());
        assertEquals(28, l.blockY());
        assertEquals(1, l.gridZ());
        assertTrue(l.gridY() > 1 && (long) l.gridY() * l.blockY() <= 56 * 56 + l.blockY(), "chunks " + l.gridY());
        LaunchGeometry.Launch big = LaunchGeometry.depthwiseNhwc(960, 49, 256, 132); // 960 channels one at a time
        assertEquals(256, big.blockX());
        assertEquals(1, big.blockY());
        assertEquals(256, big.gridZ());
        assertTrue((long) big.gridY() * big.gridZ() >= 132 * LaunchGeometry.BLOCKS_PER_SM / 4, "enough blocks to fill the GPU");
        assertTrue(big.gridY() <= 49, "no more chunks than pixels");
        LaunchGeometry.Launch tiny = LaunchGeometry.depthwiseNhwc(2, 4, 1, 132);
        assertEquals(1, tiny.gridY(), "never more chunks than pixel rows");
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.depthwiseNhwc(0, 10, 1, 132));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.depthwiseNhwc(8, 10, 70_000, 132));
    }

    @Test
    void nhwcPlanConvertsTheInputFirstFusesTheSqueezeAndReturnsFloatLogits() {
        Graph g = Graph.of(MobileNetV3Config.large());
        ForwardPlan plan = ForwardPlan.of(g, 4, 224, 224, StorageType.BF16, 132);
        assertTrue(plan.nhwc());
        ForwardPlan.ToNhwc first = (ForwardPlan.ToNhwc) plan.steps().getFirst();
        assertEquals(ForwardPlan.NHWC_CHANNEL_ALIGN, first.out().c());
        assertEquals(Float.BYTES, plan.elementBytes(ForwardPlan.Buffer.INPUT));
        assertEquals(Float.BYTES, plan.elementBytes(ForwardPlan.Buffer.LOGITS));
        assertEquals(2, plan.elementBytes(ForwardPlan.Buffer.ACT0));
        long fused = plan.steps().stream().filter(s -> s instanceof ForwardPlan.ExciteFused).count();
        assertEquals(8, fused, "Large has 8 SE blocks");
        assertTrue(plan.steps().stream().noneMatch(s -> s instanceof ForwardPlan.Excite));
        for (ForwardPlan.Step s : plan.steps()) {
            if (s instanceof ForwardPlan.Conv c && c.partial() != null) {
                int chunks = LaunchGeometry.depthwiseNhwc(ForwardPlan.channelGroups(c.out().c()), c.out().plane(), 4, 132).gridY();
                assertEquals(chunks, c.partial().h(), c.conv().name());
                assertEquals(c.out().c(), c.partial().c());
            }
            if (s instanceof ForwardPlan.Dense d) assertTrue(d.raw() != null && d.raw().buffer() != ForwardPlan.Buffer.LOGITS);
        }
        assertEquals(ForwardPlan.Buffer.LOGITS, plan.logits().buffer());
    }

    /** In both layouts: the fused excitation of FP16/BF16 plans, and the pool-and-FCs excitation of float plans. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(StorageType.class)
    void seProjectionsRunByOur1x1KernelTakeOverTheExcitation(StorageType storage) {
        Graph large = Graph.of(MobileNetV3Config.large());
        ForwardPlan plan = Lowering.lower(large, 2, 224, 224, storage, 132, ForwardPlan.InputSpec.F32, KernelChoice.Selection.OURS);
        var all = scaledOnRead(plan);
        assertEquals(8, all.size(), "one per SE block");
        all.forEach((conv, se) -> {
            assertTrue(conv.conv().name().endsWith(".block.3"), conv.conv().name()); // the projection follows the SE module
            assertTrue(se instanceof ForwardPlan.ExciteFused e ? conv.in() == e.x() : conv.in() == ((ForwardPlan.Excite) se).x());
            assertEquals(storage.isHalf(), se instanceof ForwardPlan.ExciteFused);
        });
        assertTrue(scaledOnRead(ForwardPlan.of(large, 2, 224, 224, storage, 132)).isEmpty(), "cuDNN runs them: the excitation scales");
    }

    /** Each conv that applies an SE scale as it reads, with the excitation that computed the scale (and does not apply it). */
    private static Map<ForwardPlan.Conv, ForwardPlan.Step> scaledOnRead(ForwardPlan plan) {
        Map<ForwardPlan.Conv, ForwardPlan.Step> fused = new LinkedHashMap<>();
        for (ForwardPlan.Step s : plan.steps()) {
            if (!(s instanceof ForwardPlan.Conv c) || c.scale() == null) continue;
            ForwardPlan.Step se = plan.steps().stream().filter(e -> e instanceof ForwardPlan.Excite x ? x.scale() == c.scale() && !x.scales()
                    : e instanceof ForwardPlan.ExciteFused f && f.scale() == c.scale() && !f.scales()).findFirst().orElseThrow();
            fused.put(c, se);
        }
        return fused;
    }

    @Test
    void tracedNhwcValuesComeBackInTheReferenceLayout() {
        Node node = Graph.of(MobileNetV3Config.small()).nodes().getFirst();
        ForwardPlan.Output o = new ForwardPlan.Output(node, new ForwardPlan.Ref(ForwardPlan.Buffer.ACT1, 1, 2, 1, 3));
        // NHWC [1, 1, 3, 2]: pixel-major pairs (c0, c1)
        Tensor t = o.traceTensor(new float[] {1, 10, 2, 20, 3, 30}, true);
        assertArrayEquals(new int[] {1, 2, 1, 3}, t.shape());
        assertArrayEquals(new float[] {1, 2, 3, 10, 20, 30}, t.data());
        assertArrayEquals(new float[] {1, 10, 2, 20, 3, 30}, o.traceTensor(new float[] {1, 10, 2, 20, 3, 30}, false).data());
    }

    @Test
    void anSeBlockTooWideForTheFusedKernelIsRefusedWithTheWayOut() {
        BottleneckSpec wide = new BottleneckSpec(3, 8192, 16, true, Activation.RELU, 1, 1);
        MobileNetV3Config config = MobileNetV3Config.custom("wide", 16, 128, List.of(wide));
        Graph g = Graph.of(config);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ForwardPlan.of(g, 1, 64, 64, StorageType.F16, 132));
        assertTrue(e.getMessage().contains("set CompileOptions.precision to FP32"), e.getMessage());
        ForwardPlan.of(g, 1, 64, 64, StorageType.F32, 132); // the float path has no such limit
    }
}
