package dev.mnv3.cuda;

import dev.mnv3.core.Activation;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Typed launchers for the kernels of native/*.cu, loaded once per process from the fatbin. Each
 * method packs the arguments in the exact C parameter types of its kernel and enqueues it on
 * {@code stream}; {@code args} must outlive the launch call only (the driver copies parameters).
 * Activations are passed as {@link Activation#ordinal()}, which native/common.cuh mirrors.
 */
final class Kernels {
    private final CudaDriver driver;
    private final int multiprocessors;
    private final MemorySegment module;
    private final MemorySegment biasAct, depthwise, depthwise3, depthwise5, pool, linear, channelScale;
    /** The FP16/BF16 kernels of native/nhwc.cu, looked up on first use. */
    private final Map<String, MemorySegment> nhwc = new ConcurrentHashMap<>();

    Kernels(CudaDriver driver, MemorySegment module, int multiprocessors) {
        this.driver = driver;
        this.multiprocessors = multiprocessors;
        this.module = module;
        biasAct = driver.moduleFunction(module, "mnv3_bias_act");
        depthwise = driver.moduleFunction(module, "mnv3_depthwise");
        depthwise3 = driver.moduleFunction(module, "mnv3_depthwise3");
        depthwise5 = driver.moduleFunction(module, "mnv3_depthwise5");
        pool = driver.moduleFunction(module, "mnv3_global_avg_pool");
        linear = driver.moduleFunction(module, "mnv3_linear");
        channelScale = driver.moduleFunction(module, "mnv3_channel_scale");
    }

    /** y = act(y + bias[c]) (+ residual when it is not 0), y [N, C, plane]. */
    void biasAct(SegmentAllocator args, MemorySegment stream, long y, long bias, long residual, int channels, int plane,
                 long total, Activation act) {
        KernelArgs a = new KernelArgs().ptr(y).ptr(bias).ptr(residual).i32(channels).i32(plane).i64(total).i32(act.ordinal());
        driver.launch("mnv3_bias_act", biasAct, LaunchGeometry.elementwise(total, multiprocessors), stream, a.pack(args));
    }

    /** Depthwise k x k conv + bias + act: x [N, C, h, w] -> y [N, C, oh, ow]. */
    void depthwise(SegmentAllocator args, MemorySegment stream, long x, long w, long bias, long y, int channels, int h,
                   int wd, int oh, int ow, int k, int stride, int pad, int dilation, Activation act, long total) {
        MemorySegment f = k == 3 ? depthwise3 : k == 5 ? depthwise5 : depthwise;
        KernelArgs a = new KernelArgs().ptr(x).ptr(w).ptr(bias).ptr(y).i32(channels).i32(h).i32(wd).i32(oh).i32(ow)
                .i32(k).i32(stride).i32(pad).i32(dilation).i32(act.ordinal()).i64(total);
        driver.launch("mnv3_depthwise" + (k == 3 || k == 5 ? k : ""), f, LaunchGeometry.elementwise(total, multiprocessors),
                stream, a.pack(args));
    }

    /** y[p] = mean of x[p, 0 .. plane), for p < planes. */
    void globalAvgPool(SegmentAllocator args, MemorySegment stream, long x, long y, int planes, int plane) {
        KernelArgs a = new KernelArgs().ptr(x).ptr(y).i32(planes).i32(plane);
        driver.launch("mnv3_global_avg_pool", pool, LaunchGeometry.warpPerRow(planes, 1), stream, a.pack(args));
    }

    /** y [n, out] = act(x [n, in] W^T + b), W [out, in]. */
    void linear(SegmentAllocator args, MemorySegment stream, long x, long w, long b, long y, int n, int in, int out,
                Activation act) {
        KernelArgs a = new KernelArgs().ptr(x).ptr(w).ptr(b).ptr(y).i32(in).i32(out).i32(act.ordinal());
        driver.launch("mnv3_linear", linear, LaunchGeometry.warpPerRow(out, n), stream, a.pack(args));
    }

    /** x[i] *= scale[i / plane]. */
    void channelScale(SegmentAllocator args, MemorySegment stream, long x, long scale, int plane, long total) {
        KernelArgs a = new KernelArgs().ptr(x).ptr(scale).i32(plane).i64(total);
        driver.launch("mnv3_channel_scale", channelScale, LaunchGeometry.elementwise(total, multiprocessors), stream,
                a.pack(args));
    }

    int multiprocessors() {
        return multiprocessors;
    }

    // ---- FP16/BF16 NHWC (native/nhwc.cu); V = ForwardPlan.vectorWidth(channels)

    /** Every entry point of native/nhwc.cu that these launchers can name, for the contract test. */
    static List<String> nhwcNames(Storage s) {
        String t = s.kernelSuffix;
        List<String> names = new ArrayList<>(List.of("mnv3_se_fc", "mnv3_nchw_to_nhwc_" + t, "mnv3_bias_act_" + t + "_f32",
                "mnv3_global_avg_pool_nhwc_" + t + "_f32"));
        for (int v : new int[] {1, 8}) {
            names.addAll(List.of("mnv3_bias_act_" + t + "_v" + v, "mnv3_channel_scale_" + t + "_v" + v,
                    "mnv3_global_avg_pool_nhwc_" + t + "_v" + v, depthwiseName(s, v, 0)));
        }
        names.addAll(List.of(depthwiseName(s, 8, 3), depthwiseName(s, 8, 5), "mnv3_pointwise_" + t));
        return names;
    }

    /** The window is unrolled for 3 and 5 when channels move eight at a time; k0 takes any size. */
    static String depthwiseName(Storage s, int v, int k) {
        return "mnv3_depthwise_" + s.kernelSuffix + "_v" + v + "_k" + (v == 8 && (k == 3 || k == 5) ? k : 0);
    }

    private void launchNhwc(String name, LaunchGeometry.Launch l, MemorySegment stream, KernelArgs a, SegmentAllocator args) {
        MemorySegment f = nhwc.computeIfAbsent(name, n -> driver.moduleFunction(module, n));
        driver.launch(name, f, l, stream, a.pack(args));
    }

    /** x float [N, channels, plane] -> y [N, plane, padded], the channels past {@code channels} zero. */
    void toNhwc(SegmentAllocator args, MemorySegment stream, Storage s, long x, long y, int channels, int padded, int plane,
                long total) {
        KernelArgs a = new KernelArgs().ptr(x).ptr(y).i32(channels).i32(padded).i32(plane).i64(total);
        launchNhwc("mnv3_nchw_to_nhwc_" + s.kernelSuffix, LaunchGeometry.elementwise(total, multiprocessors), stream, a, args);
    }

    /** out = act(x + bias[c]) (+ residual when not 0) over NHWC; out is float when {@code floatOut}, else in storage. */
    void biasActNhwc(SegmentAllocator args, MemorySegment stream, Storage s, long x, long out, long bias, long residual,
                     int channels, long elements, Activation act, boolean floatOut) {
        int v = floatOut ? 1 : ForwardPlan.vectorWidth(channels);
        long groups = elements / v;
        KernelArgs a = new KernelArgs().ptr(x).ptr(out).ptr(bias).ptr(residual).i32(channels).i64(groups).i32(act.ordinal());
        launchNhwc("mnv3_bias_act_" + s.kernelSuffix + "_" + (floatOut ? "f32" : "v" + v),
                LaunchGeometry.elementwise(groups, multiprocessors), stream, a, args);
    }

    /**
     * Depthwise conv + bias + act, x [N, h, wd, C] -> y [N, oh, ow, C], w tap-major [k*k, C]; with
     * {@code partial} != 0 also the SE partial sums [N, chunks, C]. Returns the launch (its gridY
     * is the chunk count).
     */
    LaunchGeometry.Launch depthwiseNhwc(SegmentAllocator args, MemorySegment stream, Storage s, long x, long w, long bias,
                                        long y, long partial, int batch, int channels, int h, int wd, int oh, int ow, int k,
                                        int stride, int pad, int dilation, Activation act) {
        int v = ForwardPlan.vectorWidth(channels);
        LaunchGeometry.Launch l = LaunchGeometry.depthwiseNhwc(channels / v, (long) oh * ow, batch, multiprocessors);
        KernelArgs a = new KernelArgs().ptr(x).ptr(w).ptr(bias).ptr(y).ptr(partial).i32(channels).i32(h).i32(wd).i32(oh)
                .i32(ow).i32(k).i32(stride).i32(pad).i32(dilation).i32(act.ordinal());
        launchNhwc(depthwiseName(s, v, k), l, stream, a, args);
        return l;
    }

    /** SE: partial [N, chunks, C] -> mean -> fc1 + ReLU -> fc2 + hard-sigmoid -> scale [N, C] float. */
    void seFc(SegmentAllocator args, MemorySegment stream, long partial, int chunks, int pixels, long w1, long b1, long w2,
              long b2, long scale, int batch, int channels, int squeeze) {
        KernelArgs a = new KernelArgs().ptr(partial).i32(chunks).i32(pixels).ptr(w1).ptr(b1).ptr(w2).ptr(b2).ptr(scale)
                .i32(channels).i32(squeeze);
        launchNhwc("mnv3_se_fc", new LaunchGeometry.Launch(batch, 1, LaunchGeometry.BLOCK, 0), stream, a, args);
    }

    /** x [N, plane, C] *= scale [N, C]. */
    void channelScaleNhwc(SegmentAllocator args, MemorySegment stream, Storage s, long x, long scale, int channels, int plane,
                          long elements) {
        int v = ForwardPlan.vectorWidth(channels);
        long groups = elements / v;
        KernelArgs a = new KernelArgs().ptr(x).ptr(scale).i32(channels).i32(plane).i64(groups);
        launchNhwc("mnv3_channel_scale_" + s.kernelSuffix + "_v" + v, LaunchGeometry.elementwise(groups, multiprocessors),
                stream, a, args);
    }

    /** y [N, C] = mean over the plane of x [N, plane, C]; float when {@code floatOut}, else in storage. */
    void globalAvgPoolNhwc(SegmentAllocator args, MemorySegment stream, Storage s, long x, long y, int batch, int channels,
                           int plane, boolean floatOut) {
        int v = floatOut ? 1 : ForwardPlan.vectorWidth(channels);
        long groups = (long) batch * channels / v;
        KernelArgs a = new KernelArgs().ptr(x).ptr(y).i32(channels).i32(plane).i64(groups);
        launchNhwc("mnv3_global_avg_pool_nhwc_" + s.kernelSuffix + "_" + (floatOut ? "f32" : "v" + v),
                LaunchGeometry.elementwise(groups, multiprocessors), stream, a, args);
    }

    /**
     * The 1x1 conv with its epilogue (native/pointwise.cu): y [m, n] = act(x [m, k] w [n, k]^T + bias)
     * (+ residual when not 0), on tensor cores; m = batch x pixels.
     */
    void pointwise(SegmentAllocator args, MemorySegment stream, Storage s, long x, long w, long bias, long residual, long y,
                   long m, int k, int n, Activation act) {
        KernelArgs a = new KernelArgs().ptr(x).ptr(w).ptr(bias).ptr(residual).ptr(y).i64(m).i32(k).i32(n).i32(act.ordinal());
        launchNhwc("mnv3_pointwise_" + s.kernelSuffix, LaunchGeometry.pointwise(m, n), stream, a, args);
    }
}
