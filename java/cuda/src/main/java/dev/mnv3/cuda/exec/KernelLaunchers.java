package dev.mnv3.cuda.exec;

import dev.mnv3.core.Activation;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.ffi.KernelArgs;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.LaunchGeometry;
import dev.mnv3.cuda.plan.StorageType;

/**
 * Typed launchers for the kernels of native/*.cu. Each method names every argument as the kernel's
 * C parameter is named and gives it that parameter's exact type ({@code NativeContractTest}
 * compares both with the preprocessed sources), then enqueues the launch on {@code stream};
 * {@code args} must outlive the launch call only (the driver copies parameters). Activations are
 * passed as {@link Activation#ordinal()}, which native/common.cuh mirrors.
 */
public final class KernelLaunchers {
    /** Where launches go: the driver on a GPU, a recorder in the contract test. */
    public interface Launcher {
        void launch(String kernel, LaunchGeometry.Launch geometry, MemorySegment stream, KernelArgs args, SegmentAllocator alloc);
    }

    private final Launcher launcher;
    private final int multiprocessors;

    public KernelLaunchers(Launcher launcher, int multiprocessors) {
        this.launcher = launcher;
        this.multiprocessors = multiprocessors;
    }

    /** Launches through the driver, looking each kernel up in {@code module} on first use. */
    public static KernelLaunchers loaded(CudaDriver driver, MemorySegment module, int multiprocessors) {
        Map<String, MemorySegment> functions = new ConcurrentHashMap<>();
        return new KernelLaunchers((kernel, g, stream, args, alloc) -> driver.launch(kernel,
                functions.computeIfAbsent(kernel, k -> driver.moduleFunction(module, k)), g.gridX(), g.gridY(), g.gridZ(),
                g.blockX(), g.blockY(), g.sharedBytes(), stream, args.pack(alloc)), multiprocessors);
    }

    public int multiprocessors() {
        return multiprocessors;
    }

    // ---- FP32 NCHW (bias_act.cu, depthwise.cu, pool.cu, linear.cu, se.cu, pointwise.cu, stem.cu)

    /** Every entry point of the float NCHW kernels and the input/output conversions, for the contract test. */
    public static List<String> nchwNames() {
        return List.of("mnv3_bias_act", "mnv3_depthwise", "mnv3_depthwise3", "mnv3_depthwise5", "mnv3_global_avg_pool",
                "mnv3_linear", "mnv3_channel_scale", "mnv3_pointwise_f32", "mnv3_pointwise_tf32", "mnv3_conv_f32",
                "mnv3_convert_to_f32_f16", "mnv3_convert_to_f32_bf16", "mnv3_convert_from_f32_f16", "mnv3_convert_from_f32_bf16",
                "mnv3_preprocess_rows", "mnv3_preprocess_cols");
    }

    /** y = act(y + bias[c]) (+ residual when it is not 0), y [N, C, plane]. */
    public void biasAct(SegmentAllocator args, MemorySegment stream, long y, long bias, long residual, int channels, int plane,
                 long total, Activation act) {
        KernelArgs a = new KernelArgs().ptr("y", y).ptr("bias", bias).ptr("residual", residual).i32("channels", channels)
                .i32("plane", plane).i64("total", total).i32("act", act.ordinal());
        launcher.launch("mnv3_bias_act", LaunchGeometry.elementwise(total, multiprocessors), stream, a, args);
    }

    /** Depthwise k x k conv + bias + act: x [N, C, h, w] -> y [N, C, oh, ow]. */
    public void depthwise(SegmentAllocator args, MemorySegment stream, long x, long w, long bias, long y, int channels, int h,
                   int wd, int oh, int ow, int k, int stride, int pad, int dilation, Activation act, long total) {
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("w", w).ptr("bias", bias).ptr("y", y).i32("channels", channels)
                .i32("height", h).i32("width", wd).i32("out_h", oh).i32("out_w", ow).i32("k", k).i32("stride", stride)
                .i32("pad", pad).i32("dilation", dilation).i32("act", act.ordinal()).i64("total", total);
        launcher.launch("mnv3_depthwise" + (k == 3 || k == 5 ? k : ""), LaunchGeometry.elementwise(total, multiprocessors),
                stream, a, args);
    }

    /** y[p] = mean of x[p, 0 .. plane), for p < planes. */
    public void globalAvgPool(SegmentAllocator args, MemorySegment stream, long x, long y, int planes, int plane) {
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("y", y).i32("planes", planes).i32("plane", plane);
        launcher.launch("mnv3_global_avg_pool", LaunchGeometry.warpPerRow(planes, 1), stream, a, args);
    }

    /** y [n, out] = act(x [n, in] W^T + b), W [out, in]. */
    public void linear(SegmentAllocator args, MemorySegment stream, long x, long w, long b, long y, int n, int in, int out,
                Activation act) {
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("w", w).ptr("b", b).ptr("y", y).i32("in", in).i32("out", out)
                .i32("act", act.ordinal());
        launcher.launch("mnv3_linear", LaunchGeometry.warpPerRow(out, n), stream, a, args);
    }

    /** x[i] *= scale[i / plane]. */
    public void channelScale(SegmentAllocator args, MemorySegment stream, long x, long scale, int plane, long total) {
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("scale", scale).i32("plane", plane).i64("total", total);
        launcher.launch("mnv3_channel_scale", LaunchGeometry.elementwise(total, multiprocessors), stream, a, args);
    }

    /**
     * The 1x1 conv of a float NCHW plan with its epilogue fused (native/pointwise.cu): per image,
     * y [c, p] = act(w [c, k] x [k, p] + bias[c]) (+ residual [c, p] when not 0), x first scaled
     * by scale [image, k] when not 0 (an SE block's projection). {@code tf32}: on tensor cores with
     * the operands rounded to TF32; otherwise strict FP32 with FMA.
     */
    public void pointwiseNchw(SegmentAllocator args, MemorySegment stream, boolean tf32, long x, long w, long bias, long residual,
                       long scale, long y, int images, int k, int n, int pixels, Activation act) {
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("w", w).ptr("bias", bias).ptr("residual", residual)
                .ptr("scale", scale).ptr("y", y).i32("images", images).i32("K", k).i32("Nc", n).i32("P", pixels)
                .i32("act", act.ordinal());
        launcher.launch(tf32 ? "mnv3_pointwise_tf32" : "mnv3_pointwise_f32", LaunchGeometry.pointwiseNchw(pixels, n, images),
                stream, a, args);
    }

    /**
     * A dense (ungrouped) k x k conv + bias + act over float NCHW (native/stem.cu): the stem of
     * float plans. w is PyTorch's [outC, inC, k, k].
     */
    public void convNchw(SegmentAllocator args, MemorySegment stream, long x, long w, long bias, long y, int inC, int h, int wd,
                  int outC, int oh, int ow, int k, int stride, int pad, int dilation, Activation act, long total) {
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("w", w).ptr("bias", bias).ptr("y", y).i32("in_channels", inC)
                .i32("height", h).i32("width", wd).i32("out_channels", outC).i32("out_h", oh).i32("out_w", ow).i32("k", k)
                .i32("stride", stride).i32("pad", pad).i32("dilation", dilation).i32("act", act.ordinal())
                .i64("total", total);
        launcher.launch("mnv3_conv_f32", LaunchGeometry.elementwise(total, multiprocessors), stream, a, args);
    }

    // ---- inputs and outputs in other types (convert.cu, preprocess.cu)

    /** y[i] = x[i] widened: a 16-bit input of {@code type} (F16, BF16) to float. */
    public void convertToFloat(SegmentAllocator args, MemorySegment stream, DType type, long x, long y, long n) {
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("y", y).i64("n", n);
        launcher.launch("mnv3_convert_to_f32_" + type.lowerCase(), LaunchGeometry.elementwise(n, multiprocessors), stream, a, args);
    }

    /** y[i] = x[i] rounded to nearest even in {@code type} (F16, BF16). */
    public void convertFromFloat(SegmentAllocator args, MemorySegment stream, DType type, long x, long y, long n) {
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("y", y).i64("n", n);
        launcher.launch("mnv3_convert_from_f32_" + type.lowerCase(), LaunchGeometry.elementwise(n, multiprocessors), stream, a,
                args);
    }

    /**
     * The horizontal pass of the preprocessing (native/preprocess.cu): source rows [y0, y1) of U8
     * images [images, height, width, 3] resampled to the crop's columns, rounded to 8 bits, into
     * rows [images, 3, y1 - y0, crop] float.
     */
    public void preprocessRows(SegmentAllocator args, MemorySegment stream, long src, long colFirst, long colCount, long colWeights,
                        int maxColTaps, long rows, int images, int height, int width, int y0, int y1, int crop, long total) {
        KernelArgs a = new KernelArgs().ptr("src", src).ptr("col_first", colFirst).ptr("col_count", colCount)
                .ptr("col_weights", colWeights).i32("max_col_taps", maxColTaps).ptr("rows", rows).i32("images", images)
                .i32("height", height).i32("width", width).i32("y0", y0).i32("y1", y1).i32("crop", crop).i64("total", total);
        launcher.launch("mnv3_preprocess_rows", LaunchGeometry.elementwise(total, multiprocessors), stream, a, args);
    }

    /** The vertical pass: rows to the crop's rows, rounded to 8 bits, scaled and normalized into y [images, 3, crop, crop]. */
    public void preprocessCols(SegmentAllocator args, MemorySegment stream, long rows, long rowFirst, long rowCount, long rowWeights,
                        int maxRowTaps, long y, int images, int rowsPerImage, int y0, int crop, long total) {
        float[] mean = Preprocessing.MEAN, std = Preprocessing.STD;
        KernelArgs a = new KernelArgs().ptr("rows", rows).ptr("row_first", rowFirst).ptr("row_count", rowCount)
                .ptr("row_weights", rowWeights).i32("max_row_taps", maxRowTaps).ptr("y", y).i32("images", images)
                .i32("rows_per_image", rowsPerImage).i32("y0", y0).i32("crop", crop).f32("mean_r", mean[0])
                .f32("mean_g", mean[1]).f32("mean_b", mean[2]).f32("std_r", std[0]).f32("std_g", std[1]).f32("std_b", std[2])
                .i64("total", total);
        launcher.launch("mnv3_preprocess_cols", LaunchGeometry.elementwise(total, multiprocessors), stream, a, args);
    }

    // ---- FP16/BF16 NHWC (the _<t> entries of each native/*.cu); V = ForwardPlan.vectorWidth(channels)

    /** Every FP16/BF16 entry point of native/*.cu that these launchers can name, for the contract test. */
    public static List<String> nhwcNames(StorageType s) {
        String t = s.kernelSuffix;
        List<String> names = new ArrayList<>(List.of("mnv3_se_fc", "mnv3_nchw_to_nhwc_" + t, "mnv3_bias_act_" + t + "_f32",
                "mnv3_global_avg_pool_nhwc_" + t + "_f32"));
        for (int v : new int[] {1, 8}) {
            names.addAll(List.of("mnv3_bias_act_" + t + "_v" + v, "mnv3_channel_scale_" + t + "_v" + v,
                    "mnv3_global_avg_pool_nhwc_" + t + "_v" + v, depthwiseName(s, v, 0)));
        }
        names.addAll(List.of(depthwiseName(s, 8, 3), depthwiseName(s, 8, 5), "mnv3_pointwise_" + t, "mnv3_stem_" + t + "_v1",
                "mnv3_stem_" + t + "_v8"));
        return names;
    }

    /** The window is unrolled for 3 and 5 when channels move eight at a time; k0 takes any size. */
    public static String depthwiseName(StorageType s, int v, int k) {
        return "mnv3_depthwise_" + s.kernelSuffix + "_v" + v + "_k" + (v == 8 && (k == 3 || k == 5) ? k : 0);
    }

    /** x float [N, channels, plane] -> y [N, plane, padded], the channels past {@code channels} zero. */
    public void toNhwc(SegmentAllocator args, MemorySegment stream, StorageType s, long x, long y, int channels, int padded, int plane,
                long total) {
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("y", y).i32("channels", channels).i32("padded", padded)
                .i32("plane", plane).i64("total", total);
        launcher.launch("mnv3_nchw_to_nhwc_" + s.kernelSuffix, LaunchGeometry.elementwise(total, multiprocessors), stream, a,
                args);
    }

    /**
     * The stem conv + bias + act from the float input: x [N, inC, h, wd] -> y [N, oh, ow, outC] in
     * storage; w float [outC, inC, k, k].
     */
    public void stem(SegmentAllocator args, MemorySegment stream, StorageType s, long x, long w, long bias, long y, int batch, int inC,
              int h, int wd, int outC, int oh, int ow, int k, int stride, int pad, int dilation, Activation act) {
        int v = ForwardPlan.vectorWidth(outC);
        long groups = (long) batch * oh * ow * outC / v;
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("w", w).ptr("bias", bias).ptr("y", y).i32("in_channels", inC)
                .i32("height", h).i32("width", wd).i32("out_channels", outC).i32("out_h", oh).i32("out_w", ow).i32("k", k)
                .i32("stride", stride).i32("pad", pad).i32("dilation", dilation).i32("act", act.ordinal()).i64("groups", groups);
        launcher.launch("mnv3_stem_" + s.kernelSuffix + "_v" + v, LaunchGeometry.elementwise(groups, multiprocessors), stream,
                a, args);
    }

    /** out = act(x + bias[c]) (+ residual when not 0) over NHWC; out is float when {@code floatOut}, else in storage. */
    public void biasActNhwc(SegmentAllocator args, MemorySegment stream, StorageType s, long x, long out, long bias, long residual,
                     int channels, long elements, Activation act, boolean floatOut) {
        int v = floatOut ? 1 : ForwardPlan.vectorWidth(channels);
        long groups = elements / v;
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("out", out).ptr("bias", bias).ptr("residual", residual)
                .i32("channels", channels).i64("groups", groups).i32("act", act.ordinal());
        launcher.launch("mnv3_bias_act_" + s.kernelSuffix + "_" + (floatOut ? "f32" : "v" + v),
                LaunchGeometry.elementwise(groups, multiprocessors), stream, a, args);
    }

    /**
     * Depthwise conv + bias + act, x [N, h, wd, C] -> y [N, oh, ow, C], w tap-major [k*k, C]; with
     * {@code partial} != 0 also the SE partial sums [N, chunks, C]. Returns the launch (its gridY
     * is the chunk count).
     */
    public LaunchGeometry.Launch depthwiseNhwc(SegmentAllocator args, MemorySegment stream, StorageType s, long x, long w, long bias,
                                        long y, long partial, int batch, int channels, int h, int wd, int oh, int ow, int k,
                                        int stride, int pad, int dilation, Activation act) {
        int v = ForwardPlan.vectorWidth(channels);
        LaunchGeometry.Launch l = LaunchGeometry.depthwiseNhwc(channels / v, (long) oh * ow, batch, multiprocessors);
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("w", w).ptr("bias", bias).ptr("y", y).ptr("partial", partial)
                .i32("channels", channels).i32("height", h).i32("width", wd).i32("out_h", oh).i32("out_w", ow).i32("k", k)
                .i32("stride", stride).i32("pad", pad).i32("dilation", dilation).i32("act", act.ordinal());
        launcher.launch(depthwiseName(s, v, k), l, stream, a, args);
        return l;
    }

    /** SE: partial [N, chunks, C] -> mean -> fc1 + ReLU -> fc2 + hard-sigmoid -> scale [N, C] float. */
    public void seFc(SegmentAllocator args, MemorySegment stream, long partial, int chunks, int pixels, long w1, long b1, long w2,
              long b2, long scale, int batch, int channels, int squeeze) {
        KernelArgs a = new KernelArgs().ptr("partial", partial).i32("chunks", chunks).i32("pixels", pixels).ptr("w1", w1)
                .ptr("b1", b1).ptr("w2", w2).ptr("b2", b2).ptr("scale", scale).i32("channels", channels)
                .i32("squeeze", squeeze);
        launcher.launch("mnv3_se_fc", new LaunchGeometry.Launch(batch, 1, LaunchGeometry.BLOCK, 0), stream, a, args);
    }

    /** x [N, plane, C] *= scale [N, C]. */
    public void channelScaleNhwc(SegmentAllocator args, MemorySegment stream, StorageType s, long x, long scale, int channels, int plane,
                          long elements) {
        int v = ForwardPlan.vectorWidth(channels);
        long groups = elements / v;
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("scale", scale).i32("channels", channels).i32("plane", plane)
                .i64("groups", groups);
        launcher.launch("mnv3_channel_scale_" + s.kernelSuffix + "_v" + v, LaunchGeometry.elementwise(groups, multiprocessors),
                stream, a, args);
    }

    /** y [N, C] = mean over the plane of x [N, plane, C]; float when {@code floatOut}, else in storage. */
    public void globalAvgPoolNhwc(SegmentAllocator args, MemorySegment stream, StorageType s, long x, long y, int batch, int channels,
                           int plane, boolean floatOut) {
        int v = floatOut ? 1 : ForwardPlan.vectorWidth(channels);
        long groups = (long) batch * channels / v;
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("y", y).i32("channels", channels).i32("plane", plane)
                .i64("groups", groups);
        launcher.launch("mnv3_global_avg_pool_nhwc_" + s.kernelSuffix + "_" + (floatOut ? "f32" : "v" + v),
                LaunchGeometry.elementwise(groups, multiprocessors), stream, a, args);
    }

    /**
     * The 1x1 conv with its epilogue (native/pointwise.cu): y [m, n] = act(x [m, k] w [n, k]^T + bias)
     * (+ residual when not 0), on tensor cores; m = batch x pixels; bias 0 means none. With
     * {@code scale} != 0 (an SE block's projection), x is first scaled by scale [images, k],
     * {@code rowsPerImage} rows an image.
     */
    public void pointwise(SegmentAllocator args, MemorySegment stream, StorageType s, long x, long w, long bias, long residual,
                   long scale, int rowsPerImage, long y, long m, int k, int n, Activation act) {
        KernelArgs a = new KernelArgs().ptr("x", x).ptr("w", w).ptr("bias", bias).ptr("residual", residual)
                .ptr("scale", scale).i32("rows_per_image", rowsPerImage).ptr("y", y).i64("M", m).i32("K", k).i32("Nc", n)
                .i32("act", act.ordinal());
        launcher.launch("mnv3_pointwise_" + s.kernelSuffix, LaunchGeometry.pointwise(m, n), stream, a, args);
    }
}
