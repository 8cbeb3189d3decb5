package dev.mnv3.cuda.ffi;

import dev.mnv3.core.backend.BackendUnavailableException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens what {@link LibraryLocator} found, through {@link SymbolLookup#libraryLookup} in the
 * global arena (CUDA libraries are never unloaded). A library found on disk is opened by absolute
 * path after its preloads; one not found is asked of the dynamic loader by name as a last resort
 * (ld.so.cache), and the error then lists every place that was looked.
 */
@SuppressWarnings("restricted") // opening native libraries is this class's purpose
public final class NativeLibraries {
    private NativeLibraries() {
    }

    /** An opened library and the preloads that failed (reported only if the library later fails). */
    public record Opened(SymbolLookup lookup, String path, List<String> preloadFailures) {
    }

    public static Opened open(LibraryLocator.Search search, String what) {
        if (search.location().isEmpty()) {
            try {
                return new Opened(SymbolLookup.libraryLookup(search.library(), Arena.global()), search.library() + " (dynamic loader)",
                        List.of());
            } catch (RuntimeException notOnLoaderPath) {
                throw new BackendUnavailableException(what + ": " + search.notFoundMessage()
                        + "\n  - the dynamic loader's default search (ld.so.cache): " + notOnLoaderPath.getMessage());
            }
        }
        LibraryLocator.Location loc = search.location().get();
        List<String> failures = new ArrayList<>();
        for (Path p : loc.preload()) {
            try {
                SymbolLookup.libraryLookup(p, Arena.global());
            } catch (RuntimeException e) {
                failures.add(p + ": " + e.getMessage());
            }
        }
        try {
            return new Opened(SymbolLookup.libraryLookup(loc.library(), Arena.global()), loc.library().toString(), failures);
        } catch (RuntimeException e) {
            throw new BackendUnavailableException(what + ": found " + loc.library() + " (" + loc.source()
                    + ") but could not open it (not a loadable shared library for this machine, or a library it needs is missing): "
                    + e.getMessage() + (failures.isEmpty() ? "" : "\n  preloads that failed:\n  - " + String.join("\n  - ", failures)));
        }
    }
}
