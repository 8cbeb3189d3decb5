package dev.mnv3.cuda.exec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The NVIDIA driver found: the CUDA version its driver API supports ({@code cuDriverGetVersion},
 * e.g. 13000 for CUDA 13.0), its release (e.g. 580.65.06; null when it cannot be told) and the
 * library opened. Code built by CUDA X.y runs on a driver whose CUDA version is at least X.0
 * (CUDA's minor version compatibility), which is what {@link #tooOldFor} checks.
 */
public record DriverVersion(int cuda, String release, String library) {
    /** The first driver branch of each CUDA major version, for the message. */
    private static final Map<Integer, String> FIRST_BRANCH = Map.of(11, "R450", 12, "R525", 13, "R580");
    private static final Pattern LIBRARY_RELEASE = Pattern.compile("libcuda\\.so\\.(\\d+\\.\\d+(?:\\.\\d+)?)");
    private static final Pattern MODULE_RELEASE = Pattern.compile("Kernel Module\\s+(\\d+\\.\\d+(?:\\.\\d+)?)");

    /** The release of the driver whose libcuda is at {@code library}: the versioned file it links to, else the kernel module's. */
    public static DriverVersion of(int cuda, String library) {
        return new DriverVersion(cuda, release(library, Path.of("/proc/driver/nvidia/version")), library);
    }

    public static String release(String library, Path moduleVersion) {
        try {
            Matcher m = LIBRARY_RELEASE.matcher(Path.of(library).toRealPath().getFileName().toString());
            if (m.matches()) return m.group(1);
        } catch (IOException | RuntimeException notAFile) {
            // found by the dynamic loader by name, or not a path: the kernel module may say
        }
        try {
            Matcher m = MODULE_RELEASE.matcher(Files.readString(moduleVersion));
            return m.find() ? m.group(1) : null;
        } catch (IOException | RuntimeException noModule) {
            return null;
        }
    }

    /** "13.0" for 13000. */
    public static String cudaString(int version) {
        return version / 1000 + "." + version % 1000 / 10;
    }

    /** Null when code built for CUDA {@code built} runs on this driver; else one line saying what was found and what is needed. */
    public String tooOldFor(int built) {
        if (cuda >= built / 1000 * 1000) return null;
        String branch = FIRST_BRANCH.get(built / 1000);
        return "the NVIDIA driver" + (release == null ? "" : " " + release) + " (" + library + ") supports CUDA " + cudaString(cuda)
                + ", but mnv3's kernels were built with CUDA " + cudaString(built) + " and need a driver for CUDA "
                + built / 1000 + ".0 or newer" + (branch == null ? "" : " (" + branch + " or later)") + ": update the NVIDIA driver, "
                + "or on a data-center GPU point -Dmnv3.cuda.libDir at CUDA's forward-compatibility libcuda (cuda-compat)";
    }

    @Override
    public String toString() {
        return "NVIDIA driver " + (release == null ? "(release unknown)" : release) + ", CUDA " + cudaString(cuda) + " (" + library
                + ")";
    }
}
