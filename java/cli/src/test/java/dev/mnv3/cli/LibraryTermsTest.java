package dev.mnv3.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mnv3.core.backend.CudaSettings;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The library's messages name fields; the CLI says its flags. */
class LibraryTermsTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "the file's classifier has 10 classes: set MobileNetV3Config.numClasses to 10|the file's classifier has 10 classes: try --classes 10",
            "supports at most 4096 and 1024 (set CompileOptions.precision to FP32 or TF32)|supports at most 4096 and 1024 (use --precision fp32 or tf32)",
            "CudaSettings.cudnn is ON, but cuDNN cannot be used here: not found|--cudnn on, but cuDNN cannot be used here: not found",
            "CudaSettings.pointwise is CUDNN, but this model runs without cuDNN (CudaSettings.cudnn is OFF)|--conv-kernels pointwise=cudnn, but this model runs without cuDNN (--cudnn off)",
            "has no entry 'ema' (the checkpoint key); its keys: [a]|has no entry 'ema' (--checkpoint-key); its keys: [a]",
            "holding tensors; name the one that does as the checkpoint key|holding tensors; name the one that does with --checkpoint-key",
            "CompileOptions.threads must be from 0 (all available processors) to 256, got 300|--threads must be from 0 (all available processors) to 256, got 300",
            "plain loops asked for (CpuSettings.scalar)|plain loops asked for (--cpu-kernels scalar)",
            "cpu runs FP32 only, not FP16 (the reduced precisions run on the GPU: the cuda backend)|cpu runs FP32 only, not FP16 (the reduced precisions run on the GPU: --backend cuda)",
            "a message naming no field|a message naming no field"})
    void libraryTermsBecomeFlags(String library, String cli) {
        assertEquals(cli, LibraryTerms.inFlags(library));
    }

    @Test
    void theCliSaysItsFlagsForALibraryError() {
        IllegalArgumentException e = new IllegalArgumentException(
                CudaSettings.defaults().withConvKernels("stem=cudnn").cudnnKind() + " is CUDNN, but this model runs without cuDNN (cuDNN was not found)");
        assertEquals("--conv-kernels stem=cudnn, but this model runs without cuDNN (cuDNN was not found)", Main.describe(e));
    }
}
