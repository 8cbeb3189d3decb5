package dev.mnv3.core.image;

import dev.mnv3.core.tensor.MemoryLimitException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * The javax.imageio readers of an image, opened in turn, with the image's damage collected (a PNG
 * chunk failing its CRC, a truncated file ({@link Truncation}), every warning of the decoder) and every decoder failure turned into one
 * {@link ImageDecodeException} line naming the image.
 */
final class ImageIoReaders {
    private ImageIoReaders() {
    }

    /** What is done with a reader set on the image. */
    interface ReaderUse {
        void accept(ImageReader reader) throws IOException;
    }

    /**
     * Opens a reader on the image, collecting damage, and turns every decoder failure into one line naming the image.
     * The readers for the image's format are tried in turn ({@link #readers}): a later one only when an earlier one
     * failed, with its damage, and the first one's failure is the one reported when all fail.
     */
    static void withReader(ImageSource source, List<String> damage, ReaderUse use) throws IOException {
        String name = source.name();
        String problem = Truncation.problem(source);
        if (problem != null) damage.add(problem);
        List<ImageReader> readers = readers(source);
        if (readers.isEmpty()) throw new ImageDecodeException("cannot decode image " + name + ": not a JPEG, PNG, BMP or GIF file");
        int intact = damage.size();
        ImageDecodeException first = null;
        try {
            for (ImageReader reader : readers) {
                try (ImageInputStream in = open(source)) {
                    reader.setInput(in, true, false);
                    reader.addIIOReadWarningListener((r, warning) -> damage.add(oneLine(warning)));
                    use.accept(reader);
                    return;
                } catch (ImageDecodeException | MemoryLimitException | InterruptedIOException e) {
                    throw e;
                } catch (IOException | RuntimeException | OutOfMemoryError | StackOverflowError e) {
                    // javax.imageio's decoders fail in every way on bad input: IIOException, IndexOutOfBounds, ...
                    List<String> seen = damage.subList(intact, damage.size());
                    String why = (problem != null ? problem + "; " : "") + (seen.isEmpty() ? "" : seen.getFirst() + "; ") + describe(e);
                    if (first == null) {
                        first = new ImageDecodeException("cannot decode image " + name + ": damaged or unsupported (" + why + ")", e);
                    }
                    seen.clear();
                }
            }
            throw first;
        } finally {
            readers.forEach(ImageReader::dispose);
        }
    }

    /**
     * The readers for the image's format, the JDK's own first. TwelveMonkeys' plugins (WebP; JPEG) register ahead of
     * the JDK's, but its JPEG reader converts CMYK and YCCK through ICC profiles, which PIL (and so torchvision's
     * loader) does not do, and which {@link RgbRows} does as PIL does from the JDK reader's raw samples. So a JPEG goes
     * to the JDK's reader and to TwelveMonkeys' only when the JDK's refuses it (e.g. a damaged ICC profile chunk).
     */
    private static List<ImageReader> readers(ImageSource source) throws IOException {
        List<ImageReader> readers = new ArrayList<>();
        try (ImageInputStream in = open(source)) {
            if (in == null) return readers;
            ImageIO.getImageReaders(in).forEachRemaining(readers::add);
        }
        Module jdk = ImageIO.class.getModule();
        readers.sort(Comparator.comparing(r -> r.getOriginatingProvider() == null
                || r.getOriginatingProvider().getClass().getModule() != jdk));
        return readers;
    }

    private static ImageInputStream open(ImageSource source) throws IOException {
        return switch (source) {
            case ImageSource.File f -> ImageIO.createImageInputStream(f.path().toFile());
            case ImageSource.Bytes b -> new ByteArrayImageStream(b.data());
        };
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : oneLine(m);
    }

    /** A decoder's text on one line: messages and damage lists name one problem per line (some warnings span two). */
    private static String oneLine(String text) {
        return text.strip().replaceAll("\\s+", " ");
    }
}
