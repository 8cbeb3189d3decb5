package dev.mnv3.cli;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.Backends;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CpuSettings;
import dev.mnv3.core.backend.CudaSettings;
import dev.mnv3.core.backend.CudnnMode;
import dev.mnv3.core.backend.Precision;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Which backend runs the model, and how ({@code --backend}, {@code --threads}, {@code --precision}, the cuda and cpu
 * options): a picocli mixin.
 */
public final class BackendOptions {
    @Option(names = "--backend", paramLabel = "NAME",
            description = "cuda, cpu or cpu-reference (default: the fastest that can run here).")
    String backend;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "0",
            description = "CPU threads, at most " + CompileOptions.MAX_THREADS + " (default: all available processors).")
    int threads;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "fp32",
            description = "fp32 (strict), tf32, fp16 or bf16; the CPU runs fp32 only (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--cudnn", paramLabel = "auto|off|on", defaultValue = "auto",
            description = "cuda: use cuDNN where it is found and times faster for a conv (auto), never load it (off: mnv3's "
                    + "own kernels alone, the NVIDIA driver the only native library), or require it (on); other backends "
                    + "ignore it (default: ${DEFAULT-VALUE}).")
    String cudnn;

    @Option(names = "--device", paramLabel = "N", defaultValue = "-1",
            description = "cuda: the GPU to run on (0, 1, ...; `mnv3 info --devices` lists them; default: "
                    + "-Dmnv3.cuda.device, else 0); other backends ignore it.")
    int device;

    @Option(names = "--no-cuda-graphs",
            description = "cuda: launch every kernel on every run instead of replaying each batch shape as a captured "
                    + "CUDA graph (graphs are on by default); other backends ignore it.")
    boolean noCudaGraphs;

    @Option(names = "--conv-kernels", paramLabel = "SPEC",
            description = "cuda: who runs the convs both mnv3's kernels and cuDNN can run: auto (time both once per shape, "
                    + "keep the faster), ours or cudnn, for all, or per kind as depthwise=V,pointwise=V,stem=V "
                    + "(default: auto, or -Dmnv3.cuda.depthwise|pointwise|stem).")
    String convKernels;

    @Option(names = "--cuda-streams", paramLabel = "N",
            description = "cuda: how many calls of one model run at once, each on its own stream, 1 to "
                    + CudaSettings.MAX_STREAMS + " (default: " + CudaSettings.DEFAULT_STREAMS + ", or -Dmnv3.cuda.streams).")
    Integer cudaStreams;

    @Option(names = "--cuda-debug",
            description = "cuda: synchronize and check after every step, naming the step that failed (slow; no CUDA graphs).")
    boolean cudaDebug;

    @Option(names = "--cpu-kernels", paramLabel = "vector|scalar",
            description = "cpu: the Vector API kernels (at the widest vectors the JVM compiles here, or "
                    + "-Dmnv3.cpu.vectorBits) or plain loops (default: vector, or -Dmnv3.cpu.scalar).")
    String cpuKernels;

    /** More threads than this many per processor get a warning. */
    static final int OVERSUBSCRIBED = 4;

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    private boolean warnedThreads;

    /** What the -Dmnv3.* properties set, read once for the command: every option it derives starts from the same. */
    private CompileOptions properties;

    /** The backend --backend names, or the fastest that can run here. */
    public Backend resolve() {
        return Backends.available(backend);
    }

    private CompileOptions properties() {
        if (properties == null) properties = CompileOptions.fromSystemProperties();
        return properties;
    }

    /** The compile options the flags describe, at the one --precision given. */
    public CompileOptions options() {
        if (precision.contains(",")) {
            throw new Main.UserError("--precision takes one value here, got '" + precision + "' (bench and crosscheck take several)");
        }
        return options(Precision.parse(precision));
    }

    CompileOptions options(Precision p) {
        if (cudnn.contains(",")) {
            throw new Main.UserError("--cudnn takes one value here, got '" + cudnn + "' (bench and crosscheck take several)");
        }
        return options(p, CudnnMode.parse(cudnn));
    }

    CompileOptions options(Precision p, CudnnMode mode) {
        if (threads < 0 || threads > CompileOptions.MAX_THREADS) {
            throw new Main.UserError("--threads must be from 0 (all available processors) to " + CompileOptions.MAX_THREADS
                    + ", got " + threads);
        }
        int processors = Runtime.getRuntime().availableProcessors();
        if (threads > OVERSUBSCRIBED * processors && !warnedThreads && mixee != null) {
            // a thread per core is what the kernels use; hundreds on a few cores each wait for a slice of one, far slower
            warnedThreads = true;
            Main.warn(mixee.commandLine().getErr(), "--threads " + threads + " is far more than the " + processors
                    + " processors here: the extra threads wait for a core and the run is slower (0 uses each processor once)");
        }
        if (device < -1) throw new Main.UserError("--device must be a device number (0, 1, ...), got " + device);
        CompileOptions base = properties().withThreads(threads).withPrecision(p);
        CudaSettings cuda = cudaSettings(base.cuda()).withCudnn(mode);
        if (device >= 0) cuda = cuda.withDevice(device);
        if (noCudaGraphs) cuda = cuda.withGraphs(false);
        return base.withCuda(cuda).withCpu(cpuKernels == null ? base.cpu() : checked("--cpu-kernels",
                () -> base.cpu().withKernels(cpuKernels)));
    }

    private CudaSettings cudaSettings(CudaSettings base) {
        CudaSettings k = convKernels == null ? base : checked("--conv-kernels", () -> base.withConvKernels(convKernels));
        if (cudaStreams != null) {
            if (cudaStreams < 1) throw new Main.UserError("--cuda-streams must be from 1 to " + CudaSettings.MAX_STREAMS + ", got " + cudaStreams);
            CudaSettings kinds = k;
            k = checked("--cuda-streams", () -> kinds.withStreams(cudaStreams));
        }
        return cudaDebug ? k.withDebug(true) : k;
    }

    private static <T> T checked(String option, java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw new Main.UserError(option + ": " + e.getMessage());
        }
    }
}
