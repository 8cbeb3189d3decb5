package dev.mnv3.cuda.ffi;

import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Finds the CUDA driver ({@code libcuda.so.1}) and cuDNN 9 ({@code libcudnn.so.9}) on disk.
 * Order: a system property, then an environment variable naming the directory, then
 * {@code LD_LIBRARY_PATH} and the usual system directories, then (cuDNN only) the pip-wheel layout
 * {@code site-packages/nvidia/cudnn/lib} of any Python found. cuDNN opens its sub-libraries and
 * cuBLASLt/NVRTC by name, which fails for a pip install that is not on the loader path, so a
 * found cuDNN comes with the list of those libraries to load first by absolute path.
 * Every place looked is recorded for the error message.
 */
public final class LibraryLocator {
    public static final String DRIVER = "libcuda.so.1";
    public static final String CUDNN = "libcudnn.so.9";

    public static final String DRIVER_DIR_PROPERTY = "mnv3.cuda.libDir";
    public static final String DRIVER_DIR_ENV = "MNV3_CUDA_LIB_DIR";
    public static final String CUDNN_DIR_PROPERTY = "mnv3.cudnn.libDir";
    public static final String CUDNN_DIR_ENV = "MNV3_CUDNN_LIB_DIR";
    public static final String SITE_PACKAGES_PROPERTY = "mnv3.python.sitePackages";
    public static final String SITE_PACKAGES_ENV = "MNV3_SITE_PACKAGES";

    /** Where Linux distributions, the CUDA toolkit and the NVIDIA container runtime put the libraries. */
    public static final List<Path> SYSTEM_DIRS = List.of(Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/usr/lib64"),
            Path.of("/usr/lib"), Path.of("/lib/x86_64-linux-gnu"), Path.of("/usr/local/nvidia/lib64"),
            Path.of("/usr/lib/wsl/lib"), Path.of("/usr/local/cuda/lib64"), Path.of("/usr/local/cuda/compat"));

    /** cuDNN 9's sub-libraries in load order: graph first, everything else depends on it. */
    public static final List<String> CUDNN_SUBLIBRARIES = List.of("libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9",
            "libcudnn_engines_runtime_compiled.so.9", "libcudnn_heuristic.so.9", "libcudnn_ops.so.9",
            "libcudnn_cnn.so.9", "libcudnn_adv.so.9");

    /** CUDA libraries cuDNN opens by name, cuBLASLt before cuBLAS (which needs it). */
    public static final List<String> CUDNN_DEPENDENCIES = List.of("cublasLt", "cublas", "nvrtc-builtins", "nvrtc", "nvJitLink");

    /** Where the pip wheels put them: CUDA 13 merges the toolkit wheels, CUDA 12 has one per library. */
    public static final List<String> PIP_CUDA_DIRS = List.of("nvidia/cu13/lib", "nvidia/cublas/lib", "nvidia/cuda_nvrtc/lib",
            "nvidia/nvjitlink/lib");

    /**
     * What the search reads, injectable so that tests can use fake directory trees.
     *
     * @param env            environment variables
     * @param properties     system properties
     * @param systemDirs     the standard library directories
     * @param pythonPrefixes installation prefixes scanned for {@code lib/python3.X/site-packages}
     */
    public record Environment(Map<String, String> env, Map<String, String> properties, List<Path> systemDirs,
                              List<Path> pythonPrefixes) {
        public static Environment current() {
            Map<String, String> props = new HashMap<>();
            // the properties that say where libcuda and cuDNN are (never how a model runs)
            System.getProperties().forEach((k, v) -> props.put(String.valueOf(k), String.valueOf(v)));
            Map<String, String> env = System.getenv();
            List<Path> prefixes = new ArrayList<>();
            for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
                String v = env.get(var);
                if (v != null && !v.isBlank()) prefixes.add(Path.of(v));
            }
            prefixes.add(Path.of(props.getOrDefault("user.home", "/root"), ".local"));
            prefixes.addAll(List.of(Path.of("/usr/local"), Path.of("/usr"), Path.of("/opt/conda")));
            return new Environment(env, props, SYSTEM_DIRS, prefixes);
        }
    }

    /** A library found on disk, the libraries to load before it, and which rule found it. */
    public record Location(Path library, List<Path> preload, String source) {
    }

    /** One search: the location, or every place looked. */
    public record Search(String library, Optional<Location> location, List<String> looked) {
        public String notFoundMessage() {
            return library + " was not found; looked in:\n  - " + String.join("\n  - ", looked);
        }
    }

    private final Environment environment;

    public LibraryLocator(Environment environment) {
        this.environment = environment;
    }

    public static LibraryLocator system() {
        return new LibraryLocator(Environment.current());
    }

    /** The NVIDIA driver. pip wheels never ship it: it comes with the kernel driver. */
    public Search driver() {
        List<String> looked = new ArrayList<>();
        for (Candidate c : standardCandidates(DRIVER_DIR_PROPERTY, DRIVER_DIR_ENV, looked)) {
            Path file = c.dir.resolve(DRIVER);
            looked.add(c.dir + " (" + c.source + ")");
            if (Files.isRegularFile(file)) return new Search(DRIVER, Optional.of(new Location(file, List.of(), c.source)), looked);
        }
        return new Search(DRIVER, Optional.empty(), looked);
    }

    /** cuDNN 9 with its sub-libraries and the CUDA libraries it opens by name. */
    public Search cudnn() {
        List<String> looked = new ArrayList<>();
        for (Candidate c : standardCandidates(CUDNN_DIR_PROPERTY, CUDNN_DIR_ENV, looked)) {
            looked.add(c.dir + " (" + c.source + ")");
            if (Files.isRegularFile(c.dir.resolve(CUDNN))) {
                return new Search(CUDNN, Optional.of(cudnnAt(c.dir, cudaDirsBeside(c.dir), c.source)), looked);
            }
        }
        List<Path> sites = sitePackages();
        if (sites.isEmpty()) looked.add("no Python site-packages found (set -D" + SITE_PACKAGES_PROPERTY + " or $" + SITE_PACKAGES_ENV + ")");
        for (Path site : sites) {
            Path dir = site.resolve("nvidia/cudnn/lib");
            looked.add(dir + " (pip wheel nvidia-cudnn)");
            if (Files.isRegularFile(dir.resolve(CUDNN))) {
                return new Search(CUDNN, Optional.of(cudnnAt(dir, cudaDirsBeside(dir), "pip wheel in " + site)), looked);
            }
        }
        return new Search(CUDNN, Optional.empty(), looked);
    }

    /** Where to look for cuDNN's CUDA dependencies: its own directory, and the wheels beside a pip install. */
    public static List<Path> cudaDirsBeside(Path cudnnDir) {
        List<Path> dirs = new ArrayList<>(List.of(cudnnDir));
        Path normalized = cudnnDir.toAbsolutePath().normalize();
        if (normalized.endsWith(Path.of("nvidia", "cudnn", "lib")) && normalized.getNameCount() > 3) {
            Path site = normalized.getParent().getParent().getParent();
            PIP_CUDA_DIRS.forEach(d -> dirs.add(site.resolve(d)));
        }
        return dirs;
    }

    /** The CUDA dependencies found in {@code cudaDirs}, then cuDNN's own sub-libraries in load order. */
    public static Location cudnnAt(Path dir, List<Path> cudaDirs, String source) {
        List<Path> preload = new ArrayList<>();
        for (String name : CUDNN_DEPENDENCIES) {
            for (Path d : cudaDirs) {
                Optional<Path> lib = versioned(d, name);
                if (lib.isPresent()) {
                    preload.add(lib.get());
                    break;
                }
            }
        }
        Set<String> sub = new LinkedHashSet<>(CUDNN_SUBLIBRARIES);
        sub.addAll(list(dir, "libcudnn_*.so.9").stream().map(p -> p.getFileName().toString()).sorted().toList());
        for (String s : sub) {
            Path p = dir.resolve(s);
            if (Files.isRegularFile(p)) preload.add(p);
        }
        return new Location(dir.resolve(CUDNN), List.copyOf(preload), source);
    }

    /** {@code lib<name>.so.<major>[.minor...]} in {@code dir}; the shortest name is the soname. */
    public static Optional<Path> versioned(Path dir, String name) {
        Pattern p = Pattern.compile(Pattern.quote("lib" + name + ".so.") + "\\d+(\\.\\d+)*");
        return list(dir, "lib" + name + ".so.*").stream()
                .filter(f -> p.matcher(f.getFileName().toString()).matches())
                .min(Comparator.comparingInt((Path f) -> f.getFileName().toString().length()).thenComparing(Path::toString));
    }

    private record Candidate(Path dir, String source) {
    }

    /** The directories to try in order; settings that are not set are noted in {@code looked}. */
    private List<Candidate> standardCandidates(String property, String envVar, List<String> looked) {
        List<Candidate> out = new ArrayList<>();
        addAll(out, split(environment.properties().get(property)), "-D" + property, looked);
        addAll(out, split(environment.env().get(envVar)), "$" + envVar, looked);
        addAll(out, split(environment.env().get("LD_LIBRARY_PATH")), "$LD_LIBRARY_PATH", looked);
        for (Path d : environment.systemDirs()) out.add(new Candidate(d, "system library directory"));
        return out;
    }

    private static void addAll(List<Candidate> out, List<String> dirs, String source, List<String> looked) {
        if (dirs.isEmpty()) looked.add(source + " (not set)");
        for (String d : dirs) out.add(new Candidate(Path.of(d), source));
    }

    /** Python site-packages: the property and variable first, then every prefix's lib/python3*. */
    public List<Path> sitePackages() {
        Set<Path> out = new LinkedHashSet<>();
        for (String d : split(environment.properties().get(SITE_PACKAGES_PROPERTY))) out.add(Path.of(d));
        for (String d : split(environment.env().get(SITE_PACKAGES_ENV))) out.add(Path.of(d));
        for (Path prefix : environment.pythonPrefixes()) {
            for (Path lib : list(prefix.resolve("lib"), "python3*")) {
                for (String kind : List.of("site-packages", "dist-packages")) {
                    if (Files.isDirectory(lib.resolve(kind))) out.add(lib.resolve(kind));
                }
            }
        }
        return List.copyOf(out);
    }

    private static List<String> split(String pathList) {
        if (pathList == null || pathList.isBlank()) return List.of();
        return Arrays.stream(pathList.split(File.pathSeparator)).filter(s -> !s.isBlank()).toList();
    }

    private static List<Path> list(Path dir, String glob) {
        if (!Files.isDirectory(dir)) return List.of();
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, glob)) {
            ds.forEach(out::add);
        } catch (IOException | SecurityException e) {
            return List.of();
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }
}
