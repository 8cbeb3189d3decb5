package dev.mnv3.cpu.fast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.testing.TorchReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The fast path computes with one vector species, {@link VectorKernels#S} (docs/ARCHITECTURE.md's kernel
 * rule): with a second one in the JVM (the 8-float tails it once had at 512 bits), a third of fresh JVMs ran
 * some kernel's operations as Java fallbacks, allocating on every call, which the no-allocation check in
 * FastBackendTest catches only in the JVMs it happens in. This reads the sources, so it fails every time.
 */
class OneVectorSpeciesTest {
    private static final Path SOURCES = Path.of("java/cpu/src/main/java/dev/mnv3/cpu/fast");
    /** Another fixed species, or a species derived from S; SPECIES_PREFERRED is read for its size only. */
    private static final Pattern OTHER = Pattern.compile("SPECIES_(?!PREFERRED\\b)\\w+|\\.with(Shape|Lanes)\\(");
    private static final Pattern CHOSEN = Pattern.compile("VectorSpecies\\.of\\(");

    @Test
    void theKernelsUseOnlyTheChosenSpecies() throws IOException {
        List<String> found = new ArrayList<>();
        int chosen = 0, files = 0;
        try (Stream<Path> all = Files.list(TorchReference.repositoryRoot().resolve(SOURCES))) {
            for (Path p : all.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
                files++;
                String text = Files.readString(p);
                Matcher m = OTHER.matcher(text);
                while (m.find()) found.add(p.getFileName() + ": " + m.group());
                Matcher c = CHOSEN.matcher(text);
                while (c.find()) chosen++;
            }
        }
        assertTrue(files > 10, "read only " + files + " sources");
        assertEquals(List.of(), found, "a second vector species: use VectorKernels.S (masked where a row ends mid-vector)");
        assertEquals(1, chosen, "VectorSpecies.of should appear once, where VectorKernels chooses S");
    }
}
