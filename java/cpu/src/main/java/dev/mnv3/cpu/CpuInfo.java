package dev.mnv3.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The processor, as performance numbers must name it: its model and the vector instruction set
 * it offers, read from /proc/cpuinfo (Linux); elsewhere only the architecture is known.
 *
 * @param model  the model name with family/model numbers where a VM hides the name ("AMD EPYC")
 * @param isa    the widest vector instruction set: "AVX-512", "AVX2", "AVX", "SSE", "SVE", "NEON", or the architecture
 * @param logical processors this JVM may use
 */
public record CpuInfo(String model, String isa, int logical) {

    public static CpuInfo here() {
        int n = Runtime.getRuntime().availableProcessors();
        try {
            return parse(Files.readAllLines(Path.of("/proc/cpuinfo")), n);
        } catch (IOException | RuntimeException e) {
            return new CpuInfo("unknown (" + System.getProperty("os.name") + ")", System.getProperty("os.arch"), n);
        }
    }

    /** From the lines of /proc/cpuinfo: the first processor's fields. */
    static CpuInfo parse(List<String> lines, int logical) {
        Map<String, String> f = new LinkedHashMap<>();
        for (String line : lines) {
            if (line.isBlank() && !f.isEmpty()) break;
            int colon = line.indexOf(':');
            if (colon > 0) f.putIfAbsent(line.substring(0, colon).strip(), line.substring(colon + 1).strip());
        }
        String model = f.getOrDefault("model name", f.getOrDefault("CPU part", "unknown"));
        if (f.containsKey("cpu family") && f.containsKey("model")) {
            model += " (family " + f.get("cpu family") + " model " + f.get("model") + ")";
        }
        Set<String> flags = Set.of(f.getOrDefault("flags", f.getOrDefault("Features", "")).split("\\s+"));
        String isa;
        if (flags.contains("avx512f")) isa = "AVX-512";
        else if (flags.contains("avx2")) isa = flags.contains("fma") ? "AVX2+FMA" : "AVX2";
        else if (flags.contains("avx")) isa = "AVX";
        else if (flags.contains("sse2")) isa = "SSE";
        else if (flags.contains("sve")) isa = "SVE";
        else if (flags.contains("asimd")) isa = "NEON";
        else isa = System.getProperty("os.arch");
        return new CpuInfo(model, isa, logical);
    }

    /** "AMD EPYC (family 26 model 2), AVX-512, 2 processors". */
    public String describe() {
        return model + ", " + isa + ", " + logical + (logical == 1 ? " processor" : " processors");
    }
}
