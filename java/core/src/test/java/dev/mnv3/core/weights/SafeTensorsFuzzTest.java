package dev.mnv3.core.weights;

import dev.mnv3.core.tensor.DType;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Any bytes given to the safetensors reader either open, with every tensor readable, or fail with
 * {@link SafeTensorsFormatException}: never another exception, a fault or an allocation the file
 * cannot back. Runs its saved inputs in every build; fuzzes with JAZZER_FUZZ=1 (see docs/robustness.md).
 */
class SafeTensorsFuzzTest {
    @FuzzTest(maxDuration = "30s")
    void readsOrRejects(byte[] file) {
        SafeTensors st;
        try {
            st = SafeTensors.parse("fuzz.safetensors", file);
        } catch (SafeTensorsFormatException expected) {
            return;
        }
        try (st) {
            for (SafeTensors.Entry e : st.entries().values()) {
                long n = e.dtype() == DType.I64 ? st.readLongs(e.name()).length : st.readFloats(e.name()).length;
                assertEquals(e.numel(), n, e.name());
            }
        }
    }
}
