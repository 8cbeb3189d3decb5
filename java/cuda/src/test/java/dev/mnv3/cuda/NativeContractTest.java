package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Activation;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.testing.TorchReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import dev.mnv3.cuda.exec.KernelLaunchers;
import dev.mnv3.cuda.ffi.Fatbin;
import dev.mnv3.cuda.plan.StorageType;

/** What the Java side and native/ must agree on, checked without a GPU. */
class NativeContractTest {
    private static final Path NATIVE = TorchReference.repositoryRoot().resolve("native");

    @Test
    void activationCodesAreTheEnumOrdinals() throws IOException {
        String header = Files.readString(NATIVE.resolve("common.cuh"));
        for (Activation a : Activation.values()) {
            Matcher m = Pattern.compile("#define MNV3_" + a.name() + " (\\d+)").matcher(header);
            assertTrue(m.find(), "common.cuh defines MNV3_" + a.name());
            assertEquals(a.ordinal(), Integer.parseInt(m.group(1)), a.name());
        }
    }

    @Test
    void everyKernelJavaLaunchesExistsInNative() throws IOException {
        StringBuilder all = new StringBuilder();
        try (var files = Files.list(NATIVE)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".cu")).toList()) all.append(Files.readString(p));
        }
        for (String k : new String[] {"mnv3_bias_act", "mnv3_global_avg_pool", "mnv3_linear", "mnv3_channel_scale"}) {
            assertTrue(all.toString().contains("extern \"C\" __global__ void " + k + "("), k);
        }
        for (String k : new String[] {"mnv3_depthwise", "mnv3_depthwise3", "mnv3_depthwise5"}) {
            assertTrue(all.toString().contains("MNV3_DEPTHWISE_ENTRY(" + k + ","), k);
        }
    }

    /**
     * Every entry point the launchers can name was compiled into the fatbin: it is an entry of the
     * PTX that nvcc embedded (kept beside the build, since the fatbin is compressed), so a misspelt
     * or missing instantiation fails here rather than at cuModuleGetFunction on a GPU.
     */
    @Test
    void everyKernelTheLaunchersNameIsInTheFatbin() throws IOException {
        if (!nvccPresent()) return; // the fatbin test above explains the missing fatbin
        assertTrue(Fatbin.load().length > 0);
        Path ptx = Path.of(System.getProperty("mnv3.kernelsPtx", "target/native/mnv3_kernels.ptx"));
        assertTrue(Files.isRegularFile(ptx), ptx + ": the build keeps the fatbin's PTX there");
        String entries = Files.readString(ptx);
        for (List<String> names : List.of(KernelLaunchers.nhwcNames(StorageType.F16), KernelLaunchers.nhwcNames(StorageType.BF16), KernelLaunchers.nchwNames())) {
            assertEquals(names.size(), new java.util.HashSet<>(names).size(), "distinct names");
            for (String k : names) assertTrue(entries.contains(".entry " + k + "("), k + " is not in the fatbin's PTX");
        }
    }

    /**
     * Every launcher passes the arguments its kernel declares, in order, named and typed as the C
     * parameters are: the kernels' signatures come from nvcc's preprocessed sources (the entry
     * points are macro expansions), the launches from {@link KernelLaunchers} with a recording launcher.
     * A swapped or missing argument is otherwise found only on a GPU, as garbage.
     */
    @Test
    void everyLaunchMatchesItsKernelsSignature() throws Exception {
        if (!nvccPresent()) return;
        Map<String, List<String>> declared = declaredKernels();
        Map<String, List<String>> launched = new TreeMap<>();
        KernelLaunchers k = new KernelLaunchers((kernel, geometry, stream, args, alloc) -> {
            List<String> params = new ArrayList<>();
            for (int i = 0; i < args.count(); i++) params.add(args.type(i) + " " + args.name(i));
            launched.put(kernel, params);
        }, 132);
        try (Arena a = Arena.ofConfined()) {
            launchEveryKernel(k, a);
        }
        for (StorageType s : List.of(StorageType.F16, StorageType.BF16)) {
            for (String name : KernelLaunchers.nhwcNames(s)) assertTrue(launched.containsKey(name), "no launcher test reaches " + name);
        }
        for (String name : KernelLaunchers.nchwNames()) assertTrue(launched.containsKey(name), "no launcher test reaches " + name);
        for (Map.Entry<String, List<String>> e : launched.entrySet()) {
            assertTrue(declared.containsKey(e.getKey()), e.getKey() + " is not a kernel of native/");
            assertEquals(declared.get(e.getKey()), e.getValue(), e.getKey());
        }
    }

    /** Calls every launcher with every variant it can pick (vector widths, window sizes, float outputs, both 16-bit types). */
    static void launchEveryKernel(KernelLaunchers k, Arena a) {
        MemorySegment s = MemorySegment.NULL;
        k.biasAct(a, s, 1, 2, 0, 3, 4, 12, Activation.HARDSWISH);
        for (int kernel : new int[] {3, 5, 7}) {
            k.depthwise(a, s, 1, 2, 3, 4, 5, 6, 7, 6, 7, kernel, 1, kernel / 2, 1, Activation.RELU, 2 * 5 * 6 * 7);
        }
        k.globalAvgPool(a, s, 1, 2, 10, 49);
        k.linear(a, s, 1, 2, 3, 4, 2, 960, 1280, Activation.IDENTITY);
        k.channelScale(a, s, 1, 2, 49, 490);
        k.pointwiseNchw(a, s, false, 1, 2, 3, 0, 0, 4, 2, 16, 64, 12544, Activation.RELU);
        k.pointwiseNchw(a, s, true, 1, 2, 3, 5, 6, 4, 2, 960, 160, 49, Activation.IDENTITY);
        k.convNchw(a, s, 1, 2, 3, 4, 3, 224, 224, 16, 112, 112, 3, 2, 1, 1, Activation.HARDSWISH, 2L * 16 * 112 * 112);
        for (DType t : List.of(DType.F16, DType.BF16)) {
            k.convertToFloat(a, s, t, 1, 2, 1000);
            k.convertFromFloat(a, s, t, 1, 2, 1000);
        }
        k.preprocessRows(a, s, 1, 2, 3, 4, 6, 5, 2, 480, 640, 12, 470, 224, 2L * 3 * 458 * 224);
        k.preprocessCols(a, s, 5, 2, 3, 4, 6, 7, 2, 458, 12, 224, 2L * 3 * 224 * 224);
        for (StorageType st : List.of(StorageType.F16, StorageType.BF16)) {
            k.toNhwc(a, s, st, 1, 2, 3, 8, 49, 2 * 8 * 49);
            k.stem(a, s, st, 1, 2, 3, 4, 2, 3, 224, 224, 16, 112, 112, 3, 2, 1, 1, Activation.HARDSWISH);
            k.stem(a, s, st, 1, 2, 3, 4, 2, 3, 224, 224, 12, 112, 112, 3, 2, 1, 1, Activation.HARDSWISH);
            k.seFc(a, s, 1, 3, 49, 2, 3, 4, 5, 6, 2, 72, 24);
            for (int c : new int[] {72, 13}) { // V = 8 and V = 1
                k.biasActNhwc(a, s, st, 1, 1, 2, 0, c, 2L * 49 * c, Activation.RELU, false);
                k.channelScaleNhwc(a, s, st, 1, 2, c, 49, 2L * 49 * c);
                k.globalAvgPoolNhwc(a, s, st, 1, 2, 2, c, 49, false);
                for (int kernel : new int[] {3, 5, 7}) {
                    k.depthwiseNhwc(a, s, st, 1, 2, 3, 4, 0, 2, c, 14, 14, 7, 7, kernel, 2, kernel / 2, 1, Activation.HARDSWISH);
                }
            }
            k.biasActNhwc(a, s, st, 1, 2, 3, 0, 1000, 2000, Activation.IDENTITY, true);
            k.globalAvgPoolNhwc(a, s, st, 1, 2, 2, 960, 49, true);
            k.pointwise(a, s, st, 1, 2, 3, 4, 0, 1, 5, 2L * 49, 960, 160, Activation.IDENTITY);
            k.pointwise(a, s, st, 1, 2, 3, 4, 6, 49, 5, 2L * 49, 672, 160, Activation.IDENTITY);
        }
    }

    /** Name -> parameters ("PTR x", "I32 channels", ...) of every extern "C" kernel in native/, from nvcc -E. */
    private static Map<String, List<String>> declaredKernels() throws Exception {
        Map<String, List<String>> kernels = new TreeMap<>();
        // __global__ and __launch_bounds__ as nvcc expands them
        Pattern entry = Pattern.compile("extern \"C\"\\s+__attribute__\\(\\(global\\)\\)\\s+void\\s+"
                + "(?:__attribute__\\(\\(launch_bounds\\([^)]*\\)\\)\\)\\s*)?(mnv3_\\w+)\\s*\\(([^)]*)\\)\\s*\\{");
        try (var files = Files.list(NATIVE)) {
            for (Path cu : files.filter(f -> f.toString().endsWith(".cu")).sorted().toList()) {
                Process p = new ProcessBuilder(nvcc(), "-E", "-x", "cu", "-std=c++17", "-I", NATIVE.toString(), cu.toString())
                        .redirectErrorStream(false).start();
                String text = new String(p.getInputStream().readAllBytes());
                p.getErrorStream().transferTo(java.io.OutputStream.nullOutputStream());
                assertEquals(0, p.waitFor(), "nvcc -E " + cu);
                Matcher m = entry.matcher(text);
                while (m.find()) {
                    List<String> params = new ArrayList<>();
                    for (String param : m.group(2).split(",")) {
                        String t = param.replace("__restrict__", " ").replace("const", " ").trim().replaceAll("\\s+", " ");
                        String name = t.substring(t.lastIndexOf(' ') + 1).replace("*", "");
                        String type = t.contains("*") ? "PTR" : t.startsWith("long long") ? "I64" : t.startsWith("int ") ? "I32"
                                : t.startsWith("float ") ? "F32" : "? " + t;
                        params.add(type + " " + name);
                    }
                    kernels.put(m.group(1), params);
                }
            }
        }
        assertTrue(kernels.size() > 30, "found only " + kernels.keySet());
        return kernels;
    }

    private static String nvcc() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "nvcc"))) return Path.of(dir, "nvcc").toString();
        }
        return "/usr/local/cuda/bin/nvcc";
    }

    /** nvcc is on every development and CI machine: there the jar must carry a real fatbin. */
    @Test
    void theFatbinIsPackedWhenNvccExistsAndExplainedWhenNot() throws IOException {
        if (nvccPresent()) {
            byte[] fatbin = Fatbin.load();
            assertTrue(Fatbin.isFatbin(fatbin));
            assertTrue(fatbin.length > 10_000, "fatbin of " + fatbin.length + " bytes");
        } else {
            assertTrue(Fatbin.missingReason().contains("not built"), Fatbin.missingReason());
        }
    }

    @Test
    void magicIsChecked() {
        assertTrue(Fatbin.isFatbin(new byte[] {0x50, (byte) 0xED, 0x55, (byte) 0xBA, 1, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
        assertTrue(!Fatbin.isFatbin(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
        assertTrue(!Fatbin.isFatbin(new byte[3]));
    }

    static boolean nvccPresent() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "nvcc"))) return true;
        }
        return Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc"));
    }
}
