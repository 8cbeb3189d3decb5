package dev.mnv3.core.backend;

/** Reads the documented {@code -Dmnv3.*} overrides of the settings' defaults, with errors that name the property. */
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
        return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("-D" + name + " must be true or false, got '" + v + "'");
        };
    }
}
