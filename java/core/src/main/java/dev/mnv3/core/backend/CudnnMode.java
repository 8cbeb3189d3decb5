package dev.mnv3.core.backend;

import java.util.Locale;

/**
 * Whether the CUDA backend uses cuDNN. mnv3's own kernels run every layer at every precision, so
 * cuDNN (about 1 GB of libraries, and the most common cause of version mismatches) is optional:
 * {@link #AUTO} loads it where it is found and lets each convolution's timed choice decide
 * between it and ours, and runs on our kernels alone where it is not found; {@link #OFF} never
 * loads it (the NVIDIA driver is then the only native dependency); {@link #ON} requires it and
 * fails clearly without it. Other backends ignore the setting.
 */
public enum CudnnMode {
    AUTO, OFF, ON;

    public static CudnnMode parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown cuDNN mode '" + s + "' (expected auto, off or on)");
        }
    }

    public String lowerCase() {
        return name().toLowerCase(Locale.ROOT);
    }
}
