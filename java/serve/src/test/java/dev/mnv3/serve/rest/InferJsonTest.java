package dev.mnv3.serve.rest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.serve.InferRequest;
import dev.mnv3.serve.InferResponse;
import dev.mnv3.serve.ServeError;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The parts of the REST body format the curl tests do not reach: nested data, parameters, duplicate keys, mixed outputs. */
class InferJsonTest {
    private static InferRequest read(String json) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        return InferRequestJson.read(b, b.length);
    }

    @Test
    void nestedDataIsReadInRowMajorOrderAndParametersAreKept() {
        InferRequest r = read("{\"id\":\"q\",\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,2,2],"
                + "\"data\":[[[1,2],[3.5,-4e-1]]]}],\"outputs\":[{\"name\":\"logits\",\"parameters\":{\"binary_data\":false,"
                + "\"classification\":2}}],\"parameters\":{\"binary_data_output\":true,\"priority\":3},\"unknown\":{\"x\":[1]}}");
        assertEquals("q", r.id());
        assertArrayEquals(new float[] {1, 2, 3.5f, -0.4f}, r.inputs().getFirst().floats());
        assertArrayEquals(new long[] {1, 2, 2}, r.inputs().getFirst().shape());
        InferRequest.RequestedOutput o = r.outputs().getFirst();
        assertEquals(Boolean.FALSE, o.binary());
        assertEquals(2, o.classification());
        assertTrue(r.binaryOutputs());
    }

    @Test
    void fp16JsonValuesAreRoundedToHalfPrecision() {
        float[] v = read("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP16\",\"shape\":[2],\"data\":[0.1,65519]}]}")
                .inputs().getFirst().floats();
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(0.1f)), v[0]);
        assertEquals(65504f, v[1], "rounded to the largest half");
    }

    @Test
    void duplicateKeysAndNonScalarParametersAreRefused() {
        ServeError dup = assertThrows(ServeError.class, () -> read("{\"inputs\":[],\"inputs\":[]}"));
        assertTrue(dup.getMessage().contains("Duplicate field 'inputs'"), dup.getMessage());
        ServeError nested = assertThrows(ServeError.class, () -> read("{\"inputs\":[],\"parameters\":{\"a\":{\"b\":1}}}"));
        assertTrue(nested.getMessage().contains("parameter 'a' must be a boolean, number or string"), nested.getMessage());
        ServeError type = assertThrows(ServeError.class, () -> read("{\"inputs\":[],\"parameters\":{\"binary_data_output\":1}}"));
        assertTrue(type.getMessage().contains("must be true or false"), type.getMessage());
    }

    @Test
    void binaryOutputsFollowTheJsonInOrderAndTheRestStayInline() {
        InferResponse r = new InferResponse("m", "1", "", List.of(
                new InferResponse.Output("a", "FP32", new long[] {2}, new float[] {1, 2}, null, true),
                new InferResponse.Output("b", "BYTES", new long[] {1}, null, List.of("x:1".getBytes()), false),
                new InferResponse.Output("c", "BYTES", new long[] {1}, null, List.of("yz".getBytes()), true)));
        InferResponseJson.Encoded e = InferResponseJson.write(r);
        String json = new String(e.json(), StandardCharsets.UTF_8);
        assertEquals("{\"model_name\":\"m\",\"model_version\":\"1\",\"outputs\":["
                + "{\"name\":\"a\",\"datatype\":\"FP32\",\"shape\":[2],\"parameters\":{\"binary_data_size\":8}},"
                + "{\"name\":\"b\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"x:1\"]},"
                + "{\"name\":\"c\",\"datatype\":\"BYTES\",\"shape\":[1],\"parameters\":{\"binary_data_size\":6}}]}", json);
        assertEquals(2, e.binary().size());
        assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3f, 0, 0, 0, 0x40}, e.binary().get(0));
        assertArrayEquals(new byte[] {2, 0, 0, 0, 'y', 'z'}, e.binary().get(1));
        assertNull(r.outputs().get(1).floats());
    }
}
