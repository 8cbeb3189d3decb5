package dev.mnv3.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mnv3.core.backend.CudaSettings.ConvKernels;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Options are plain values; the documented properties are read by {@link CompileOptions#fromSystemProperties()} alone. */
class CompileOptionsTest {
    /** Each documented property, a value that is not its default, and where it lands. */
    private static final Map<String, Map.Entry<String, Function<CompileOptions, Object>>> DOCUMENTED = new LinkedHashMap<>();

    static {
        DOCUMENTED.put(CpuSettings.SCALAR_PROPERTY, Map.entry("true", o -> o.cpu().scalar()));
        DOCUMENTED.put(CpuSettings.STACK_PROPERTY, Map.entry("3", o -> o.cpu().stack()));
        DOCUMENTED.put(CpuSettings.WARM_START_PROPERTY, Map.entry("true", o -> o.cpu().warmStart()));
        DOCUMENTED.put(CudaSettings.DEVICE_PROPERTY, Map.entry("2", o -> o.cuda().device()));
        DOCUMENTED.put(CudaSettings.GRAPHS_PROPERTY, Map.entry("false", o -> o.cuda().graphs()));
        DOCUMENTED.put(CudaSettings.DEPTHWISE_PROPERTY, Map.entry("cudnn", o -> o.cuda().depthwise()));
        DOCUMENTED.put(CudaSettings.POINTWISE_PROPERTY, Map.entry(" OURS ", o -> o.cuda().pointwise()));
        DOCUMENTED.put(CudaSettings.STEM_PROPERTY, Map.entry("ours", o -> o.cuda().stem()));
        DOCUMENTED.put(CudaSettings.STREAMS_PROPERTY, Map.entry("7", o -> o.cuda().streams()));
        DOCUMENTED.put(CudaSettings.DEBUG_PROPERTY, Map.entry("true", o -> o.cuda().debug()));
    }

    private static final Map<String, Object> EXPECTED = Map.of(CpuSettings.SCALAR_PROPERTY, true, CpuSettings.STACK_PROPERTY, 3,
            CpuSettings.WARM_START_PROPERTY, true, CudaSettings.DEVICE_PROPERTY, 2, CudaSettings.GRAPHS_PROPERTY, false,
            CudaSettings.DEPTHWISE_PROPERTY, ConvKernels.CUDNN, CudaSettings.POINTWISE_PROPERTY, ConvKernels.OURS,
            CudaSettings.STEM_PROPERTY, ConvKernels.OURS, CudaSettings.STREAMS_PROPERTY, 7, CudaSettings.DEBUG_PROPERTY, true);

    @AfterEach
    void clearProperties() {
        DOCUMENTED.keySet().forEach(System::clearProperty);
    }

    @Test
    void fromSystemPropertiesReadsEachDocumentedProperty() {
        CompileOptions plain = CompileOptions.defaults();
        assertEquals(plain, CompileOptions.fromSystemProperties(), "no property set: the plain defaults");
        for (var e : DOCUMENTED.entrySet()) {
            String property = e.getKey();
            Function<CompileOptions, Object> field = e.getValue().getValue();
            System.setProperty(property, e.getValue().getKey());
            try {
                CompileOptions read = CompileOptions.fromSystemProperties();
                assertEquals(EXPECTED.get(property), field.apply(read), property);
                assertEquals(field.apply(plain), field.apply(CompileOptions.defaults()), property + " is not read by defaults()");
            } finally {
                System.clearProperty(property);
            }
        }
    }

    @Test
    void theConstructorsReadNoJvmState() {
        DOCUMENTED.forEach((property, value) -> System.setProperty(property, value.getKey()));
        assertEquals(new CompileOptions(0, Precision.FP32, CpuSettings.defaults(), CudaSettings.defaults()), CompileOptions.defaults());
        CompileOptions nulls = new CompileOptions(2, null, null, null);
        assertEquals(CpuSettings.defaults(), nulls.cpu());
        assertEquals(CudaSettings.defaults(), nulls.cuda());
        assertEquals(new CpuSettings(false, 0, false), CpuSettings.defaults());
        assertEquals(new CudaSettings(-1, CudnnMode.AUTO, true, null, null, null, 0, false), CudaSettings.defaults());
    }

    @Test
    void aBadPropertyFailsNamingIt() {
        System.setProperty(CudaSettings.DEPTHWISE_PROPERTY, "fastest");
        assertEquals("-Dmnv3.cuda.depthwise must be auto, ours or cudnn, got 'fastest'",
                assertThrows(IllegalArgumentException.class, CompileOptions::fromSystemProperties).getMessage());
        System.clearProperty(CudaSettings.DEPTHWISE_PROPERTY);
        System.setProperty(CpuSettings.STACK_PROPERTY, "two");
        assertEquals("-Dmnv3.cpu.stack must be a whole number, got 'two'",
                assertThrows(IllegalArgumentException.class, CompileOptions::fromSystemProperties).getMessage());
        System.clearProperty(CpuSettings.STACK_PROPERTY);
        System.setProperty(CudaSettings.DEVICE_PROPERTY, "-3");
        assertEquals("-Dmnv3.cuda.device must be a device number (0, 1, ...), got -3",
                assertThrows(IllegalArgumentException.class, CompileOptions::fromSystemProperties).getMessage());
    }

    @Test
    void messagesNameTheFields() {
        assertEquals("CompileOptions.threads must be from 0 (all available processors) to 256, got 300",
                assertThrows(IllegalArgumentException.class, () -> CompileOptions.defaults().withThreads(300)).getMessage());
        assertEquals("CudaSettings.streams must be from 1 to 64 (0: 4), got 65",
                assertThrows(IllegalArgumentException.class, () -> CudaSettings.defaults().withStreams(65)).getMessage());
        assertEquals("CudaSettings.pointwise", CudaSettings.defaults().withConvKernels("pointwise=cudnn,stem=ours").cudnnKind());
    }
}
