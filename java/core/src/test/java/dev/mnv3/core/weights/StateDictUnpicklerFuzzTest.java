package dev.mnv3.core.weights;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Any bytes given to the PyTorch unpickler either give an object or fail with
 * {@link CheckpointFormatException}: never another exception, a hang or an allocation the bytes
 * cannot back. Storages and tensors are recorded, not read. Runs its saved inputs (a state_dict
 * pickle torch.save wrote among them) in every build; fuzzes with JAZZER_FUZZ=1.
 */
class StateDictUnpicklerFuzzTest {
    @FuzzTest(maxDuration = "30s")
    void loadsOrRefuses(byte[] pickle) {
        try {
            StateDictUnpickler.load(Path.of("fuzz.pth"), "data.pkl", MemorySegment.ofArray(pickle), new StateDictUnpicklerTest.Recorder());
        } catch (CheckpointFormatException expected) {
            // refused in one line
        }
    }
}
