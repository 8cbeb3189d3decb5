package dev.mnv3.core.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hand-made and damaged torch.save archives: views read right, every damage is one line naming it. */
class PyTorchZipTest {
    @TempDir
    Path dir;

    /** A zip laid out as torch.save lays it out: every entry stored, under one archive folder. */
    static byte[] zip(Map<String, byte[]> entries, boolean deflateStorages) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                if (!(deflateStorages && e.getKey().contains("/data/"))) {
                    ze.setMethod(ZipEntry.STORED);
                    ze.setSize(e.getValue().length);
                    ze.setCompressedSize(e.getValue().length);
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    ze.setCrc(crc.getValue());
                }
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    /** {'w': storage 0 [offset, shape, stride]} over six floats 0..5, plus {'b': storage 1} over two. */
    static Map<String, byte[]> archive(int offset, int[] shape, int[] stride, int numel) {
        byte[] pkl = PickleBytes.proto2().op('}').string("w").tensor("FloatStorage", "0", numel, offset, shape, stride).op('s')
                .string("b").tensor("FloatStorage", "1", 2, 0, new int[] {2}, new int[] {1}).op('s', '.').bytes();
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("a/data.pkl", pkl);
        m.put("a/data/0", floats(0, 1, 2, 3, 4, 5));
        m.put("a/data/1", floats(6, 7));
        m.put("a/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return m;
    }

    Path file(byte[] bytes) throws IOException {
        return Files.write(Files.createTempFile(dir, "c", ".pth"), bytes);
    }

    String refusal(byte[] bytes) throws IOException {
        Path p = file(bytes);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(p).close());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        return e.getMessage();
    }

    @Test
    void viewsAndNonContiguousTensorsReadAsPyTorchReadsThem() throws IOException {
        try (Checkpoint c = Checkpoint.open(file(zip(archive(0, new int[] {2, 3}, new int[] {3, 1}, 6), false)))) {
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, c.tensors().get("w").readFloats());
            assertArrayEquals(new float[] {6, 7}, c.tensors().get("b").readFloats());
        }
        try (Checkpoint c = Checkpoint.open(file(zip(archive(0, new int[] {3, 2}, new int[] {1, 3}, 6), false)))) { // a transpose
            assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, c.tensors().get("w").readFloats());
        }
        try (Checkpoint c = Checkpoint.open(file(zip(archive(1, new int[] {2, 2}, new int[] {3, 1}, 6), false)))) { // offset, gaps
            assertArrayEquals(new float[] {1, 2, 4, 5}, c.tensors().get("w").readFloats());
            assertEquals("[2,2]", c.tensors().get("w").shapeString());
        }
        try (Checkpoint c = Checkpoint.open(file(zip(archive(2, new int[] {3, 1}, new int[] {0, 5}, 6), false)))) { // broadcast
            assertArrayEquals(new float[] {2, 2, 2}, c.tensors().get("w").readFloats());
        }
    }

    @Test
    void aTrainingCheckpointsStateDictWinsOverAStrayTensorBesideIt() throws IOException {
        byte[] pkl = PickleBytes.proto2().op('}').string("model").op('}').string("module.w")
                .tensor("FloatStorage", "0", 6, 0, new int[] {6}, new int[] {1}).op('s', 's')
                .string("ema_decay").tensor("FloatStorage", "1", 2, 0, new int[] {}, new int[] {}).op('s', '.').bytes();
        Map<String, byte[]> m = archive(0, new int[] {6}, new int[] {1}, 6);
        m.put("a/data.pkl", pkl);
        try (Checkpoint c = Checkpoint.open(file(zip(m, false)))) {
            assertEquals("model", c.key());
            assertEquals(java.util.List.of("w"), java.util.List.copyOf(c.tensors().keySet()));
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, c.tensors().get("w").readFloats());
        }
    }

    @Test
    void tensorsAndStoragesThatRunPastTheirBytesAreRefused() throws IOException {
        assertTrue(refusal(zip(archive(0, new int[] {7}, new int[] {1}, 6), false)).contains("runs past its storage 0 of 6 elements"));
        assertTrue(refusal(zip(archive(5, new int[] {2}, new int[] {1}, 6), false)).contains("runs past its storage"));
        assertTrue(refusal(zip(archive(0, new int[] {2}, new int[] {1}, 7), false)).contains("storage 0 of 7 F32 elements runs past its entry of 24 bytes"));
        assertTrue(refusal(zip(archive(0, new int[] {0x7fffffff, 0x7fffffff, 0x7fffffff}, new int[] {0x7fffffff, 0x7fffffff, 0x7fffffff}, 6), false))
                .contains("do not address memory"));
        assertTrue(refusal(zip(archive(0, new int[] {-1}, new int[] {1}, 6), false)).contains("do not address memory"));
        assertTrue(refusal(zip(archive(-1, new int[] {1}, new int[] {1}, 6), false)).contains("runs past its storage"));
        assertTrue(refusal(zip(archive(0, new int[] {2}, new int[] {1}, -1), false)).contains("runs past its entry"));
    }

    @Test
    void damagedArchivesAreOneLine() throws IOException {
        byte[] good = zip(archive(0, new int[] {6}, new int[] {1}, 6), false);
        for (int n = 1; n < good.length; n += 7) refusal(Arrays.copyOf(good, n)); // cut anywhere
        assertTrue(refusal(zip(archive(0, new int[] {6}, new int[] {1}, 6), true)).contains("entry a/data/0 is compressed"));

        Map<String, byte[]> noPickle = archive(0, new int[] {6}, new int[] {1}, 6);
        noPickle.remove("a/data.pkl");
        assertTrue(refusal(zip(noPickle, false)).contains("a zip archive without data.pkl"));
        Map<String, byte[]> noStorage = archive(0, new int[] {6}, new int[] {1}, 6);
        noStorage.remove("a/data/1");
        assertTrue(refusal(zip(noStorage, false)).contains("storage 1 has no entry data/1"));
        Map<String, byte[]> bigEndian = archive(0, new int[] {6}, new int[] {1}, 6);
        bigEndian.put("a/byteorder", "big".getBytes(StandardCharsets.US_ASCII));
        assertTrue(refusal(zip(bigEndian, false)).contains("saved on a big-endian machine"));
    }

    @Test
    void entriesThatShareBytesAreRefused() throws IOException {
        byte[] z = zip(archive(0, new int[] {6}, new int[] {1}, 6), false);
        // point the central directory's record of a/data/1 at a/data/0's local header
        int local0 = indexOf(z, "PK\u0003\u0004", indexOf(z, "a/data/0", 0) - 30);
        int central1 = indexOf(z, "PK\u0001\u0002", 0);
        while (!new String(z, central1 + 46, 8, StandardCharsets.US_ASCII).equals("a/data/1")) central1 = indexOf(z, "PK\u0001\u0002", central1 + 4);
        ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN).putInt(central1 + 42, local0);
        String m = refusal(z);
        assertTrue(m.contains("share bytes") || m.contains("has no local header"), m);
    }

    @Test
    void pickleStreamsAndOtherFilesAreNamed() throws IOException {
        assertTrue(refusal(new byte[] {(byte) 0x80, 2, '}', '.'}).contains("a Python pickle, not a PyTorch zip checkpoint"));
        assertTrue(refusal(new byte[0]).contains("not a valid safetensors file"));
        assertTrue(refusal("hello, world".getBytes(StandardCharsets.US_ASCII)).contains("not a valid safetensors file"));
    }

    private static int indexOf(byte[] z, String s, int from) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = Math.max(0, from); i <= z.length - b.length; i++) {
            if (Arrays.equals(z, i, i + b.length, b, 0, b.length)) return i;
        }
        throw new AssertionError(s + " not found");
    }
}
