package dev.mnv3.core.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The zip archive {@code torch.save} writes (PyTorch 1.6 and later): its central directory read
 * from the mapped file, each entry's data a slice of the mapping, so storages larger than the
 * heap are read in place. PyTorch stores its entries uncompressed (the reader refuses a
 * compressed one it needs); an entry outside the file, two entries sharing bytes, or an archive
 * cut short is an error naming it.
 * ZIP64 records are read (archives over 4 GiB and with more than 65,535 entries use them).
 */
final class PyTorchZip {
    /** One entry: its data's place in the file, and whether it is compressed (then {@code size} is its compressed size). */
    record Entry(String name, long offset, long size, boolean compressed) {
    }

    private static final int EOCD = 0x06054b50, ZIP64_LOCATOR = 0x07064b50, ZIP64_EOCD = 0x06064b50, CENTRAL = 0x02014b50,
            LOCAL = 0x04034b50;

    private final Path file;
    private final MemorySegment zip;

    private PyTorchZip(Path file, MemorySegment zip) {
        this.file = file;
        this.zip = zip;
    }

    /** True when {@code file} begins as a zip archive does. */
    static boolean looksLikeZip(MemorySegment file) {
        return file.byteSize() >= 4 && file.get(LittleEndian.I32, 0) == LOCAL;
    }

    /** The entries of the archive by name, every one checked to lie within the file and to share no byte with another. */
    static Map<String, Entry> entries(Path file, MemorySegment zip) throws CheckpointFormatException {
        return new PyTorchZip(file, zip).read();
    }

    private Map<String, Entry> read() throws CheckpointFormatException {
        long size = zip.byteSize();
        long eocd = -1;
        for (long p = size - 22; p >= Math.max(0, size - 22 - 0xffff); p--) {
            if (zip.get(LittleEndian.I32, p) == EOCD) {
                eocd = p;
                break;
            }
        }
        if (eocd < 0) throw bad("a zip archive without its end record: truncated, or not written by torch.save");
        long count = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16);
        if (u16(eocd + 4) != 0 || u16(eocd + 6) != 0) throw bad("a zip archive split across disks");
        if (count == 0xffff || cdSize == 0xffffffffL || cdOffset == 0xffffffffL) {
            long locator = eocd - 20;
            if (locator < 0 || zip.get(LittleEndian.I32, locator) != ZIP64_LOCATOR) throw bad("a ZIP64 archive without its locator");
            long z64 = i64(locator + 8);
            if (z64 < 0 || z64 > locator - 56 || zip.get(LittleEndian.I32, z64) != ZIP64_EOCD) throw bad("a ZIP64 end record outside the file");
            count = i64(z64 + 32);
            cdSize = i64(z64 + 40);
            cdOffset = i64(z64 + 48);
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > eocd || cdSize > eocd - cdOffset || count < 0 || count > cdSize / 46) {
            throw bad("its central directory (" + count + " entries, " + cdSize + " bytes at " + cdOffset + ") does not fit the file: truncated?");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        long p = cdOffset, end = cdOffset + cdSize;
        for (long i = 0; i < count; i++) {
            if (p > end - 46 || zip.get(LittleEndian.I32, p) != CENTRAL) throw bad("central directory entry " + i + " is damaged");
            int method = u16(p + 10), nameLength = u16(p + 28), extraLength = u16(p + 30), commentLength = u16(p + 32);
            long compressed = u32(p + 20), uncompressed = u32(p + 24), local = u32(p + 42);
            long next = p + 46 + nameLength + extraLength + commentLength;
            if (next > end) throw bad("central directory entry " + i + " runs past the directory");
            String name = new String(zip.asSlice(p + 46, nameLength).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            long[] wide = zip64(p + 46 + nameLength, extraLength, uncompressed, compressed, local);
            uncompressed = wide[0];
            compressed = wide[1];
            local = wide[2];
            if (method == 0 && compressed != uncompressed) throw bad("entry " + name + " says " + compressed + " stored bytes but " + uncompressed + " bytes");
            if (local < 0 || local > cdOffset - 30 || zip.get(LittleEndian.I32, local) != LOCAL) throw bad("entry " + name + " has no local header where it says");
            long data = local + 30 + u16(local + 26) + u16(local + 28);
            if (data > cdOffset || compressed > cdOffset - data) {
                throw bad("entry " + name + " (" + compressed + " bytes at " + data + ") runs past the archive's data: truncated?");
            }
            if (entries.put(name, new Entry(name, data, compressed, method != 0)) != null) throw bad("entry " + name + " appears twice");
            p = next;
        }
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.removeIf(e -> e.size() == 0);
        sorted.sort(Comparator.comparingLong(Entry::offset));
        for (int i = 1; i < sorted.size(); i++) {
            Entry a = sorted.get(i - 1), b = sorted.get(i);
            if (b.offset() < a.offset() + a.size()) throw bad("entries " + a.name() + " and " + b.name() + " share bytes");
        }
        return entries;
    }

    /** The sizes and offset a ZIP64 extra field holds for those the central directory marks 0xffffffff. */
    private long[] zip64(long extra, int length, long uncompressed, long compressed, long local) throws CheckpointFormatException {
        long[] v = {uncompressed, compressed, local};
        if (uncompressed != 0xffffffffL && compressed != 0xffffffffL && local != 0xffffffffL) return v;
        long p = extra, end = extra + length;
        while (p + 4 <= end) {
            int id = u16(p), n = u16(p + 2);
            if (p + 4 + n > end) break;
            if (id == 1) {
                long q = p + 4;
                for (int k = 0; k < 3; k++) {
                    if (v[k] != 0xffffffffL) continue;
                    if (q + 8 > p + 4 + n) throw bad("a ZIP64 extra field too short for its sizes");
                    v[k] = i64(q);
                    q += 8;
                }
                if (v[0] < 0 || v[1] < 0 || v[2] < 0) throw bad("a ZIP64 size or offset beyond 2^63");
                return v;
            }
            p += 4 + n;
        }
        throw bad("an entry marked ZIP64 without its ZIP64 sizes");
    }

    private int u16(long p) {
        return zip.get(LittleEndian.I16, p) & 0xffff;
    }

    private long u32(long p) {
        return zip.get(LittleEndian.I32, p) & 0xffffffffL;
    }

    private long i64(long p) {
        return zip.get(LittleEndian.I64, p);
    }

    private CheckpointFormatException bad(String problem) {
        return new CheckpointFormatException(file, "not a readable PyTorch checkpoint: " + problem);
    }
}
