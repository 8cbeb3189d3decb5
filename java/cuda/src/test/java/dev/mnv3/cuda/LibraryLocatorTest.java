package dev.mnv3.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import dev.mnv3.cuda.ffi.LibraryLocator;

/** Library discovery against fake directory trees of empty files. */
class LibraryLocatorTest {
    @TempDir
    Path root;

    private final Map<String, String> env = new HashMap<>();
    private final Map<String, String> props = new HashMap<>();

    private LibraryLocator locator(List<Path> systemDirs, List<Path> prefixes) {
        return new LibraryLocator(new LibraryLocator.Environment(env, props, systemDirs, prefixes));
    }

    private LibraryLocator locator() {
        return locator(List.of(root.resolve("usr/lib64")), List.of(root.resolve("usr")));
    }

    private Path touch(String relative) throws IOException {
        Path p = root.resolve(relative);
        Files.createDirectories(p.getParent());
        return Files.createFile(p);
    }

    @Test
    void systemPropertyComesFirstThenEnvironmentThenLoaderPathThenSystemDirs() throws IOException {
        Path prop = touch("prop/libcuda.so.1"), envLib = touch("env/libcuda.so.1"), ld = touch("ld/libcuda.so.1"),
                sys = touch("usr/lib64/libcuda.so.1");
        props.put(LibraryLocator.DRIVER_DIR_PROPERTY, prop.getParent().toString());
        env.put(LibraryLocator.DRIVER_DIR_ENV, envLib.getParent().toString());
        env.put("LD_LIBRARY_PATH", root.resolve("nothing") + ":" + ld.getParent());
        assertEquals(prop, locator().driver().location().orElseThrow().library());
        props.clear();
        assertEquals(envLib, locator().driver().location().orElseThrow().library());
        env.remove(LibraryLocator.DRIVER_DIR_ENV);
        LibraryLocator.Search s = locator().driver();
        assertEquals(ld, s.location().orElseThrow().library());
        assertEquals("$LD_LIBRARY_PATH", s.location().get().source());
        env.clear();
        s = locator().driver();
        assertEquals(sys, s.location().orElseThrow().library());
        assertEquals("system library directory", s.location().get().source());
    }

    @Test
    void notFoundListsEveryPlaceLooked() {
        env.put("LD_LIBRARY_PATH", root.resolve("a") + ":" + root.resolve("b"));
        LibraryLocator.Search s = locator().driver();
        assertTrue(s.location().isEmpty());
        String msg = s.notFoundMessage();
        assertTrue(msg.startsWith("libcuda.so.1 was not found"), msg);
        for (String expected : List.of("-Dmnv3.cuda.libDir (not set)", "$MNV3_CUDA_LIB_DIR (not set)",
                root.resolve("a") + " ($LD_LIBRARY_PATH)", root.resolve("b") + " ($LD_LIBRARY_PATH)",
                root.resolve("usr/lib64") + " (system library directory)")) {
            assertTrue(msg.contains(expected), () -> "missing '" + expected + "' in\n" + msg);
        }
    }

    @Test
    void cudnnInASystemDirectoryPreloadsItsSubLibrariesInDependencyOrder() throws IOException {
        Path lib = touch("opt/cudnn/libcudnn.so.9");
        for (String s : List.of("libcudnn_adv.so.9", "libcudnn_cnn.so.9", "libcudnn_ops.so.9", "libcudnn_graph.so.9",
                "libcudnn_engines_precompiled.so.9", "libcudnn_heuristic.so.9", "libcudnn_future_thing.so.9")) {
            touch("opt/cudnn/" + s);
        }
        touch("opt/cudnn/libcublasLt.so.13");
        touch("opt/cudnn/libcublasLt.so.13.0.1");
        touch("opt/cudnn/libnvrtc.so.13");
        props.put(LibraryLocator.CUDNN_DIR_PROPERTY, lib.getParent().toString());
        LibraryLocator.Location loc = locator().cudnn().location().orElseThrow();
        assertEquals(lib, loc.library());
        assertEquals(List.of("libcublasLt.so.13", "libnvrtc.so.13", "libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9",
                        "libcudnn_heuristic.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9", "libcudnn_adv.so.9",
                        "libcudnn_future_thing.so.9"),
                loc.preload().stream().map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void pipWheelLayoutIsFoundUnderAnyPythonPrefix() throws IOException {
        Path lib = touch("usr/lib/python3.12/site-packages/nvidia/cudnn/lib/libcudnn.so.9");
        touch("usr/lib/python3.12/site-packages/nvidia/cudnn/lib/libcudnn_graph.so.9");
        touch("usr/lib/python3.12/site-packages/nvidia/cu13/lib/libcublasLt.so.13");
        touch("usr/lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc.so.13");
        touch("usr/lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc-builtins.so.13.0");
        LibraryLocator.Search s = locator().cudnn();
        LibraryLocator.Location loc = s.location().orElseThrow(() -> new AssertionError(s.notFoundMessage()));
        assertEquals(lib, loc.library());
        assertTrue(loc.source().startsWith("pip wheel in "), loc.source());
        assertEquals(List.of("libcublasLt.so.13", "libnvrtc-builtins.so.13.0", "libnvrtc.so.13", "libcudnn_graph.so.9"),
                loc.preload().stream().map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void aPipCudnnNamedByPropertyStillFindsTheCudaWheelsBesideIt() throws IOException {
        Path lib = touch("venv/site-packages/nvidia/cudnn/lib/libcudnn.so.9");
        touch("venv/site-packages/nvidia/cu13/lib/libcublasLt.so.13");
        props.put(LibraryLocator.CUDNN_DIR_PROPERTY, lib.getParent().toString());
        LibraryLocator.Location loc = locator(List.of(), List.of()).cudnn().location().orElseThrow();
        assertEquals("-Dmnv3.cudnn.libDir", loc.source());
        assertEquals(List.of(root.resolve("venv/site-packages/nvidia/cu13/lib/libcublasLt.so.13")), loc.preload());
    }

    @Test
    void cuda12WheelsHaveOneDirectoryPerLibrary() throws IOException {
        touch("venv/lib/python3.10/site-packages/nvidia/cudnn/lib/libcudnn.so.9");
        touch("venv/lib/python3.10/site-packages/nvidia/cublas/lib/libcublasLt.so.12");
        touch("venv/lib/python3.10/site-packages/nvidia/cublas/lib/libcublas.so.12");
        touch("venv/lib/python3.10/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12");
        env.put("VIRTUAL_ENV", root.resolve("venv").toString());
        LibraryLocator.Location loc = locator(List.of(), List.of(root.resolve("venv"))).cudnn().location().orElseThrow();
        assertEquals(List.of("libcublasLt.so.12", "libcublas.so.12", "libnvrtc.so.12"),
                loc.preload().stream().map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void sitePackagesCanBeNamedExplicitly() throws IOException {
        Path lib = touch("elsewhere/nvidia/cudnn/lib/libcudnn.so.9");
        env.put(LibraryLocator.SITE_PACKAGES_ENV, root.resolve("elsewhere").toString());
        assertEquals(lib, locator(List.of(), List.of()).cudnn().location().orElseThrow().library());
        env.clear();
        props.put(LibraryLocator.SITE_PACKAGES_PROPERTY, root.resolve("elsewhere").toString());
        assertEquals(List.of(root.resolve("elsewhere")), locator(List.of(), List.of()).sitePackages());
    }

    @Test
    void debianDistPackagesAreScannedToo() throws IOException {
        Files.createDirectories(root.resolve("usr/lib/python3/dist-packages"));
        Files.createDirectories(root.resolve("usr/local/lib/python3.11/site-packages"));
        List<Path> sites = locator(List.of(), List.of(root.resolve("usr/local"), root.resolve("usr"))).sitePackages();
        assertEquals(List.of(root.resolve("usr/local/lib/python3.11/site-packages"), root.resolve("usr/lib/python3/dist-packages")),
                sites);
    }

    @Test
    void cudnnNotFoundNamesThePipLocationsToo() throws IOException {
        Files.createDirectories(root.resolve("usr/lib/python3.11/site-packages"));
        LibraryLocator.Search s = locator().cudnn();
        assertFalse(s.location().isPresent());
        String msg = s.notFoundMessage();
        assertTrue(msg.contains("-Dmnv3.cudnn.libDir (not set)"), msg);
        assertTrue(msg.contains(root.resolve("usr/lib/python3.11/site-packages/nvidia/cudnn/lib") + " (pip wheel nvidia-cudnn)"), msg);
    }

    @Test
    void noPythonAtAllIsSaid() {
        String msg = locator(List.of(), List.of()).cudnn().notFoundMessage();
        assertTrue(msg.contains("no Python site-packages found"), msg);
    }
}
