package dev.mnv3.core.backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/** Finds the backends on the class path. */
public final class Backends {
    private Backends() {
    }

    public static List<Backend> all() {
        List<Backend> list = new ArrayList<>();
        ServiceLoader.load(Backend.class).forEach(list::add);
        list.sort(Comparator.comparingInt(Backend::priority).reversed());
        return list;
    }

    /** The backend called {@code name}; the error lists the names that exist. */
    public static Backend named(String name) {
        List<Backend> all = all();
        for (Backend b : all) {
            if (b.name().equalsIgnoreCase(name)) return b;
        }
        throw new IllegalArgumentException("unknown backend '" + name + "' (available: "
                + String.join(", ", all.stream().map(Backend::name).toList()) + ")");
    }

    /**
     * The backend called {@code name}, or the best here when {@code name} is null; a
     * {@link BackendUnavailableException} saying why when it cannot run here.
     */
    public static Backend available(String name) {
        Backend b = name == null ? best() : named(name);
        String why = b.unavailableReason();
        if (why != null) throw new BackendUnavailableException("backend " + b.name() + " cannot run here: " + why);
        return b;
    }

    /** The highest-priority backend that can run here. */
    public static Backend best() {
        for (Backend b : all()) {
            if (b.unavailableReason() == null) return b;
        }
        throw new BackendUnavailableException("no backend can run here: " + all().stream()
                .map(b -> b.name() + ": " + b.unavailableReason()).toList());
    }
}
