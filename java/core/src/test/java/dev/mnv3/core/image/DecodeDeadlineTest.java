package dev.mnv3.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.metadata.IIOMetadata;
import org.junit.jupiter.api.Test;

/**
 * A read past its deadline is stopped however the reader treats an abort: the JDK's JPEG reader,
 * and a reader that does what javax.imageio's do (allocate the raster, clear any abort as the image
 * starts, then look for one before each row, reporting progress there or not).
 */
class DecodeDeadlineTest {
    private static final int ROWS = 2000;

    /** The deadline passes while the raster is allocated; the reader refuses other threads' aborts mid-read, as the JDK's JPEG reader does. */
    @Test
    void aReadThatClearsTheAbortAndRefusesOtherThreadsStopsAtItsFirstReport() {
        RowReader reader = new RowReader(true);
        assertThrows(ImageDecodeException.class, () -> read(reader));
        assertEquals(0, reader.rows, "rows read after the deadline");
    }

    /** A reader that reports no progress is stopped by the timer, which asks again after the reader cleared its first abort. */
    @Test
    void aReadThatReportsNoProgressIsStoppedByTheTimer() {
        RowReader reader = new RowReader(false);
        assertThrows(ImageDecodeException.class, () -> read(reader));
        assertTrue(reader.rows < ROWS, "read all " + ROWS + " rows: the abort was lost");
    }

    /**
     * The JDK's JPEG reader refuses {@code abort()} from another thread while it reads, and clears
     * the native abort as the image starts: its own progress reports stop it, soon after its time.
     */
    @Test
    void theJdksJpegReaderIsStoppedThoughItRefusesOtherThreadsAborts() throws Exception {
        BufferedImage img = new BufferedImage(2400, 1600, BufferedImage.TYPE_3BYTE_BGR);
        byte[] bgr = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < bgr.length; i++) bgr[i] = (byte) (i * 7 ^ i >> 11);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpg", out);
        byte[] jpeg = out.toByteArray();
        ImageReader reader = jdkJpegReader();
        ImageReadParam param = reader.getDefaultReadParam();
        param.setDestination(img); // allocated once, so that the times are the decode's alone
        try {
            long whole = Long.MAX_VALUE;
            for (int i = 0; i < 3; i++) { // the first warms up
                reader.setInput(new ByteArrayImageStream(jpeg));
                long start = System.nanoTime();
                reader.read(0, param);
                if (i > 0) whole = Math.min(whole, System.nanoTime() - start);
            }
            Duration timeout = Duration.ofNanos(Math.max(1_000_000, whole / 20));
            // the fastest of three, as in ImageLimitsTest: a read that ran to its end cannot beat half of the whole
            long stopped = Long.MAX_VALUE;
            for (int attempt = 0; attempt < 3; attempt++) {
                reader.setInput(new ByteArrayImageStream(jpeg));
                DecodeDeadline deadline = new DecodeDeadline("img", timeout);
                long start = System.nanoTime();
                assertThrows(ImageDecodeException.class, () -> deadline.read(reader, () -> reader.read(0, param)));
                stopped = Math.min(stopped, System.nanoTime() - start);
            }
            assertTrue(stopped < whole / 2, "stopped after " + stopped / 1e6 + " ms; the whole read takes " + whole / 1e6 + " ms");
        } finally {
            reader.dispose();
        }
    }

    private static ImageReader jdkJpegReader() {
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName("jpeg");
        while (readers.hasNext()) {
            ImageReader r = readers.next();
            if (r.getOriginatingProvider().getClass().getModule() == ImageIO.class.getModule()) return r;
        }
        throw new AssertionError("no JDK JPEG reader");
    }

    private static void read(RowReader reader) throws Exception {
        DecodeDeadline deadline = new DecodeDeadline("img", Duration.ofMillis(2));
        deadline.read(reader, () -> reader.read(0, null));
    }

    private static void spin(long nanos) {
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() - end < 0) Thread.onSpinWait();
    }

    /** Reads {@link #ROWS} rows; {@code likeJdkJpeg}: reports progress, and refuses other threads' aborts mid-read. */
    private static final class RowReader extends ImageReader {
        private final boolean likeJdkJpeg;
        private volatile Thread reading;
        int rows;

        RowReader(boolean likeJdkJpeg) {
            super(null);
            this.likeJdkJpeg = likeJdkJpeg;
        }

        @Override
        public BufferedImage read(int imageIndex, ImageReadParam param) {
            reading = Thread.currentThread();
            try {
                spin(5_000_000); // the raster's allocation, past the deadline
                clearAbortRequest();
                processImageStarted(imageIndex);
                for (int y = 0; y < ROWS; y++) {
                    if (likeJdkJpeg) processImageProgress(100f * y / ROWS);
                    if (abortRequested()) {
                        processReadAborted();
                        return null;
                    }
                    spin(100_000);
                    rows++;
                }
                processImageComplete();
                return null;
            } finally {
                reading = null;
            }
        }

        @Override
        public void abort() {
            if (!likeJdkJpeg || reading == null || reading == Thread.currentThread()) super.abort();
            else throw new IllegalStateException("Attempt to use instance of " + this + " locked on thread " + reading);
        }

        @Override
        public int getNumImages(boolean allowSearch) {
            return 1;
        }

        @Override
        public int getWidth(int imageIndex) {
            return 1;
        }

        @Override
        public int getHeight(int imageIndex) {
            return ROWS;
        }

        @Override
        public Iterator<ImageTypeSpecifier> getImageTypes(int imageIndex) {
            return null;
        }

        @Override
        public IIOMetadata getStreamMetadata() {
            return null;
        }

        @Override
        public IIOMetadata getImageMetadata(int imageIndex) {
            return null;
        }
    }
}
