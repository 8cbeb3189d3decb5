package dev.mnv3.cli;

import dev.mnv3.core.image.PixelSource;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.image.RgbImage;
import dev.mnv3.core.io.InputFiles;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.tensor.MemoryLimitException;
import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.SampleModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;

/**
 * The image decoder front end (javax.imageio: JPEG, PNG, BMP, GIF), the CLI's only use of
 * java.desktop. Before decoding it refuses images over {@link #MAX_PIXELS}; it decodes only the
 * pixels the center crop depends on, subsampled when even those would exceed the decode budget;
 * it converts colours as PIL does ({@link RgbRows}); and it reports damage: a PNG chunk that
 * fails its CRC or a truncated file, and every warning of the decoder (corrupt JPEG data).
 */
final class ImageFiles {
    /** PIL refuses images over 179 million pixels as decompression bombs; we allow 1 Gi, as subsampling bounds the memory. */
    static final long MAX_PIXELS = 1L << 30;

    private ImageFiles() {
    }

    /**
     * Decodes {@code file} and writes its preprocessed crop to {@code dst} at {@code offset}.
     * Returns what is damaged in the file (empty when it is intact): its pixels were decoded
     * regardless, as far as they could be. An image that does not decode at all is an error.
     */
    static List<String> preprocess(Path file, Preprocessing prep, float[] dst, int offset) throws IOException {
        List<String> damage = new ArrayList<>();
        withReader(file, damage, reader -> {
            Source source = new Source(file, reader, prep);
            prep.applyInto(source, dst, offset);
        });
        return damage;
    }

    /** The whole image at full resolution, converted as PIL converts it (tests compare it with PIL's pixels). */
    static RgbImage decode(Path file) throws IOException {
        List<String> damage = new ArrayList<>();
        RgbImage[] out = new RgbImage[1];
        withReader(file, damage, reader -> {
            Source source = new Source(file, reader, null);
            int w = source.width(), h = source.height();
            int[] rgb = new int[MemoryBudget.arrayLength((long) w * h, file + " decoded")];
            source.read(0, 0, w, h, (y, row) -> System.arraycopy(row, 0, rgb, y * w, w));
            out[0] = new RgbImage(w, h, rgb);
        });
        if (!damage.isEmpty()) throw new Main.UserError(file + " is damaged: " + damage.getFirst());
        return out[0];
    }

    private interface ReaderUse {
        void accept(ImageReader reader) throws IOException;
    }

    /** Opens a reader on the file, collecting damage, and turns every decoder failure into one line naming the file. */
    private static void withReader(Path file, List<String> damage, ReaderUse use) throws IOException {
        InputFiles.requireRegularFile(file);
        if (isPng(file)) {
            String problem = PngChunks.problem(file);
            if (problem != null) damage.add(problem);
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new Main.UserError("cannot decode image " + file + ": not a JPEG, PNG, BMP or GIF file");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, false);
                reader.addIIOReadWarningListener((r, warning) -> damage.add(warning));
                use.accept(reader);
            } catch (Main.UserError | MemoryLimitException e) {
                throw e;
            } catch (IOException | RuntimeException | OutOfMemoryError | StackOverflowError e) {
                // javax.imageio's decoders fail in every way on bad input: IIOException, IndexOutOfBounds, ...
                String why = damage.isEmpty() ? describe(e) : damage.getFirst() + "; " + describe(e);
                throw new Main.UserError("cannot decode image " + file + ": damaged or unsupported (" + why + ")", e);
            } finally {
                reader.dispose();
            }
        }
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.strip().replaceAll("\\s+", " ");
    }

    private static boolean isPng(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return PngChunks.isPng(in.readNBytes(8));
        }
    }

    /** Decoded bytes per pixel of the reader's first image type (8 when it cannot say). */
    private static int bytesPerPixel(ImageReader reader) {
        try {
            ImageTypeSpecifier type = reader.getRawImageType(0);
            if (type == null) {
                Iterator<ImageTypeSpecifier> types = reader.getImageTypes(0);
                type = types.hasNext() ? types.next() : null;
            }
            if (type == null) return 8;
            SampleModel sm = type.getSampleModel(1, 1);
            return Math.max(1, sm.getNumBands() * DataBuffer.getDataTypeSize(sm.getDataType()) / 8);
        } catch (IOException | RuntimeException e) {
            return 8;
        }
    }

    /** The largest decoded region held at once: an eighth of the heap, at most 512 MiB. */
    static long decodeBudget() {
        return Math.min(512L << 20, Runtime.getRuntime().maxMemory() / 8);
    }

    /**
     * An image file's pixels, decoded on demand: a region at a time, every {@code step}-th
     * pixel in each direction (1 unless the region the crop needs would not fit the budget).
     */
    private static final class Source implements PixelSource {
        private final Path file;
        private final ImageReader reader;
        private final int fullWidth, fullHeight, step, bytesPerPixel;

        Source(Path file, ImageReader reader, Preprocessing prep) throws IOException {
            this.file = file;
            this.reader = reader;
            fullWidth = reader.getWidth(0);
            fullHeight = reader.getHeight(0);
            long pixels = (long) fullWidth * fullHeight;
            if (fullWidth < 1 || fullHeight < 1) throw new Main.UserError("cannot decode image " + file + ": it has no pixels");
            if (pixels > MAX_PIXELS) {
                throw new Main.UserError(String.format("image %s is %dx%d, %,d pixels: more than the %,d mnv3 decodes", file,
                        fullWidth, fullHeight, pixels, MAX_PIXELS));
            }
            bytesPerPixel = bytesPerPixel(reader);
            step = prep == null ? 1 : step(prep.sourceRegion(fullWidth, fullHeight));
        }

        /** The smallest subsampling step that brings the region the crop needs within the decode budget. */
        private int step(Preprocessing.Region r) {
            long budget = decodeBudget();
            int s = 1;
            while (Math.ceilDiv(r.x1() - r.x0(), s) * (long) Math.ceilDiv(r.y1() - r.y0(), s) * bytesPerPixel > budget) s++;
            return s;
        }

        @Override
        public int width() {
            return Math.ceilDiv(fullWidth, step);
        }

        @Override
        public int height() {
            return Math.ceilDiv(fullHeight, step);
        }

        @Override
        public void read(int x0, int y0, int x1, int y1, Rows rows) throws IOException {
            int sx = x0 * step, sy = y0 * step;
            Rectangle region = new Rectangle(sx, sy, Math.min((x1 - x0) * step, fullWidth - sx),
                    Math.min((y1 - y0) * step, fullHeight - sy));
            String what = "decoding " + file;
            MemoryBudget.reserve((long) (x1 - x0) * (y1 - y0) * bytesPerPixel, what);
            ImageReadParam param = reader.getDefaultReadParam();
            param.setSourceRegion(region);
            if (step > 1) param.setSourceSubsampling(step, step, 0, 0);
            BufferedImage img = reader.read(0, param);
            if (img.getWidth() != x1 - x0 || img.getHeight() != y1 - y0) {
                throw new IOException("the decoder returned " + img.getWidth() + "x" + img.getHeight() + " pixels for a region of "
                        + (x1 - x0) + "x" + (y1 - y0));
            }
            RgbRows converter = RgbRows.of(img);
            int[] row = new int[x1 - x0];
            for (int y = 0; y < y1 - y0; y++) {
                converter.row(y, row);
                rows.row(y0 + y, row);
            }
        }
    }
}
