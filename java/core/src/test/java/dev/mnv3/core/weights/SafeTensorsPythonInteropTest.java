package dev.mnv3.core.weights;

import dev.mnv3.core.tensor.DType;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.core.weights.SafeTensorsWriter.Blob;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files cross the language boundary both ways: PyTorch (through tools/reference/safetensors_io.py,
 * which the reference scripts use) reads what Java wrote and checks F16/BF16 bits against its own
 * conversions, and Java reads what PyTorch wrote. Like the parity tests, a missing PyTorch fails.
 */
class SafeTensorsPythonInteropTest {

    /** Checks java.safetensors against torch's own conversions, then writes py.safetensors. */
    private static final String SCRIPT = """
            import sys, torch
            sys.path.insert(0, sys.argv[1])
            import safetensors_io as io
            t = io.load(sys.argv[2])
            src = t["src"]
            bad = []
            def same(name, want):
                got = t[name]
                if got.dtype != want.dtype or list(got.shape) != list(want.shape):
                    bad.append(f"{name}: {got.dtype}{list(got.shape)} vs {want.dtype}{list(want.shape)}")
                elif not torch.equal(got.view(torch.int16) if got.element_size() == 2 else got,
                                     want.view(torch.int16) if want.element_size() == 2 else want):
                    bad.append(f"{name}: values differ")
            same("f32", src.reshape(4, -1))
            same("f16", src.half())
            same("bf16", src.bfloat16())
            same("i64", torch.tensor([[0, -1], [2**62, -2**63]], dtype=torch.int64))
            if t["empty"].shape != (0, 3):
                bad.append(f"empty: {list(t['empty'].shape)}")
            if bad:
                print("MISMATCH", *bad, sep="\\n")
                sys.exit(1)
            v = torch.tensor([1 / 3, 65504.0, 2.0**-24, -2.5, 1 + 2.0**-8, 1 + 3 * 2.0**-8, 0.1], dtype=torch.float32)
            io.save(sys.argv[3], {"f32": v.reshape(7, 1), "f16": v.half(), "bf16": v.bfloat16(),
                                  "i64": torch.tensor([[1, -2], [3, 2**62]]), "empty": torch.zeros(0, 3)},
                    {"written_by": "torch " + torch.__version__})
            print("OK")
            """;

    @TempDir
    Path dir;

    private static float[] source() {
        SplittableRandom rnd = new SplittableRandom(3);
        float[] v = new float[4096];
        for (int i = 0; i < v.length; i++) {
            // bfloat16 ties below odd and even neighbours, values just past a tie, then wide exponents
            v[i] = i < 64 ? Float.intBitsToFloat(0x3f808000 + (i << 16))
                    : i < 128 ? Float.intBitsToFloat(0xbf808001 + ((i - 64) << 16))
                    : (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-6, 5)));
        }
        return v;
    }

    private static String runPython(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(TorchReference.python(), "-c", SCRIPT));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "python timed out");
        assertEquals(0, p.exitValue(), log);
        return log;
    }

    @Test
    void torchReadsWhatJavaWroteAndJavaReadsWhatTorchWrote() throws Exception {
        float[] src = source();
        Tensor t = new Tensor(new int[] {src.length}, src);
        Path javaFile = dir.resolve("java.safetensors"), pyFile = dir.resolve("py.safetensors");
        SafeTensorsWriter.write(javaFile, List.of(Blob.of("src", t, DType.F32), Blob.of("f32", t.reshape(4, src.length / 4), DType.F32),
                Blob.of("f16", t, DType.F16), Blob.of("bf16", t, DType.BF16),
                Blob.ofLongs("i64", new long[] {2, 2}, new long[] {0, -1, 1L << 62, Long.MIN_VALUE}),
                Blob.of("empty", Tensor.zeros(0, 3), DType.F32)), Map.of("written_by", "mnv3"));

        String log = runPython(TorchReference.repositoryRoot().resolve("tools/reference").toString(),
                javaFile.toString(), pyFile.toString());
        assertTrue(log.contains("OK"), log);

        float[] v = {1f / 3, 65504f, Math.scalb(1f, -24), -2.5f, 1 + Math.scalb(1f, -8), 1 + 3 * Math.scalb(1f, -8), 0.1f};
        try (SafeTensors st = SafeTensors.open(pyFile)) {
            assertTrue(st.metadata().get("written_by").startsWith("torch "), st.metadata().toString());
            assertEquals(0, RawSafeTensors.headerLength(pyFile) % 8);
            assertEquals("[7,1]", st.entry("f32").shapeString());
            assertArrayEquals(v, st.readFloats("f32"));
            float[] f16 = st.readFloats("f16"), bf16 = st.readFloats("bf16");
            for (int i = 0; i < v.length; i++) {
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(v[i])), f16[i], "f16 of " + v[i]);
                assertEquals(SafeTensorsRoundTripTest.bf16Reference(v[i]), bf16[i], "bf16 of " + v[i]);
            }
            assertEquals(1f, bf16[4], "1 + 2^-8 is a bfloat16 tie and rounds to even");
            assertEquals(1 + Math.scalb(1f, -6), bf16[5], "1 + 3 * 2^-8 is a tie and rounds to even");
            assertArrayEquals(new long[] {1, -2, 3, 1L << 62}, st.readLongs("i64"));
            assertEquals(DType.I64, st.entry("i64").dtype());
            assertArrayEquals(new long[] {0, 3}, st.entry("empty").shape());
        }
    }
}
