package dev.mnv3.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import org.junit.jupiter.api.Test;

class CpuInfoTest {

    @Test
    void namesModelFamilyAndTheWidestVectorIsaOfTheFirstProcessor() {
        List<String> epyc = List.of("processor\t: 0", "vendor_id\t: AuthenticAMD", "cpu family\t: 26", "model\t\t: 2",
                "model name\t: AMD EPYC", "flags\t\t: fpu sse2 avx fma avx2 avx512f avx512bw", "",
                "processor\t: 1", "model name\t: something else", "flags\t\t: sse2");
        CpuInfo c = CpuInfo.parse(epyc, 2);
        assertEquals("AMD EPYC (family 26 model 2)", c.model());
        assertEquals("AVX-512", c.isa());
        assertEquals("AMD EPYC (family 26 model 2), AVX-512, 2 processors", c.describe());
        assertEquals("AVX2+FMA", CpuInfo.parse(List.of("model name\t: Zen", "flags\t: sse2 avx avx2 fma"), 1).isa());
        assertEquals("NEON", CpuInfo.parse(List.of("processor\t: 0", "Features\t: fp asimd evtstrm crc32", "CPU part\t: 0xd0c"), 4).isa());
        assertEquals("SVE", CpuInfo.parse(List.of("Features\t: fp asimd sve sve2"), 4).isa());
    }

    @Test
    void describesThisMachine() {
        CpuInfo here = CpuInfo.here();
        assertFalse(here.model().isBlank());
        assertEquals(Runtime.getRuntime().availableProcessors(), here.logical());
    }
}
