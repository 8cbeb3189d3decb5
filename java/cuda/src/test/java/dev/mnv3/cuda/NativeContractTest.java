package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.Activation;
import dev.mnv3.core.testing.TorchReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

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
     * Every FP16/BF16 entry point the launchers can name is in the compiled fatbin: the ELF string
     * tables keep kernel names as plain NUL-terminated bytes, so a misspelt or missing
     * instantiation fails here rather than at cuModuleGetFunction on a GPU.
     */
    @Test
    void everyHalfKernelTheLaunchersNameIsInTheFatbin() {
        if (!nvccPresent()) return; // the fatbin test above explains the missing fatbin
        String fatbin = new String(Fatbin.load(), java.nio.charset.StandardCharsets.ISO_8859_1);
        for (Storage s : List.of(Storage.F16, Storage.BF16)) {
            List<String> names = Kernels.nhwcNames(s);
            assertEquals(names.size(), new java.util.HashSet<>(names).size(), "distinct names");
            for (String k : names) assertTrue(fatbin.contains(k + "\0"), k + " is not in the fatbin");
        }
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
