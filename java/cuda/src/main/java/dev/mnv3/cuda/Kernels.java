package dev.mnv3.cuda;

import dev.mnv3.core.Activation;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

/**
 * Typed launchers for the kernels of native/*.cu, loaded once per process from the fatbin. Each
 * method packs the arguments in the exact C parameter types of its kernel and enqueues it on
 * {@code stream}; {@code args} must outlive the launch call only (the driver copies parameters).
 * Activations are passed as {@link Activation#ordinal()}, which native/common.cuh mirrors.
 */
final class Kernels {
    private final CudaDriver driver;
    private final int multiprocessors;
    private final MemorySegment biasAct, depthwise, depthwise3, depthwise5, pool, linear, channelScale;

    Kernels(CudaDriver driver, MemorySegment module, int multiprocessors) {
        this.driver = driver;
        this.multiprocessors = multiprocessors;
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
}
