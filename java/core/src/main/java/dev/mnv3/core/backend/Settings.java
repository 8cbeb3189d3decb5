package dev.mnv3.core.backend;

import java.util.Locale;

/**
 * The one place that reads the documented {@code -Dmnv3.*} settings of a model, for
 * {@link CompileOptions#fromSystemProperties()}; errors name the property.
 */
final class Settings {
    private Settings() {
    }

    static int intProperty(String name, int absent) {
        String v = System.getProperty(name);
        if (v == null) return absent;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + name + " must be a whole number, got '" + v + "'");
        }
    }

    static boolean booleanProperty(String name, boolean absent) {
        String v = System.getProperty(name);
        if (v == null) return absent;
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true", "" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("-D" + name + " must be true or false, got '" + v + "'");
        };
    }

    static CudaSettings.ConvKernels convProperty(String name) {
        return CudaSettings.ConvKernels.parse("-D" + name, System.getProperty(name, "auto"));
    }
}
