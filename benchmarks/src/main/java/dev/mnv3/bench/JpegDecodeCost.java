package dev.mnv3.bench;

import dev.mnv3.core.image.ImageDecoder;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.Preprocessing;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * One thread's CPU time per JPEG, for each JPEG decoder in turn ({@code -Dmnv3.jpeg}, read at
 * every decode), from bytes in memory: the whole image decoded ({@link ImageDecoder#decodeRaw}),
 * and decoded and preprocessed to the ImageNet crop ({@link ImageDecoder#preprocess}).
 * {@code JpegDecodeCost DIR COUNT ROUNDS [DECODERS]} (decoders default imageio,turbo); round 0
 * warms up. Thread CPU time leaves out the JIT, the GC and other processes.
 */
public final class JpegDecodeCost {
    private JpegDecodeCost() {
    }

    public static void main(String[] args) throws Exception {
        List<byte[]> jpegs = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of(args[0]))) {
            for (Path p : s.filter(p -> p.toString().endsWith(".jpg")).sorted().limit(Integer.parseInt(args[1])).toList()) {
                jpegs.add(Files.readAllBytes(p));
            }
        }
        int rounds = Integer.parseInt(args[2]);
        String[] decoders = (args.length > 3 ? args[3] : "imageio,turbo").split(",");
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Preprocessing prep = Preprocessing.imagenet();
        float[] crop = new float[3 * prep.crop() * prep.crop()];
        for (int round = 0; round <= rounds; round++) {
            for (String decoder : decoders) {
                System.setProperty("mnv3.jpeg", decoder);
                long start = threads.getCurrentThreadCpuTime();
                for (int i = 0; i < jpegs.size(); i++) ImageDecoder.decodeRaw(ImageSource.of("jpeg " + i, jpegs.get(i)));
                long decoded = threads.getCurrentThreadCpuTime();
                for (int i = 0; i < jpegs.size(); i++) ImageDecoder.preprocess(ImageSource.of("jpeg " + i, jpegs.get(i)), prep, crop, 0);
                long preprocessed = threads.getCurrentThreadCpuTime();
                if (round == 0) continue;
                System.out.printf(Locale.ROOT, "round %d, jpeg %s: whole image %.2f cpu-ms | decode+preprocess %.2f cpu-ms%n", round,
                        decoder, (decoded - start) / 1e6 / jpegs.size(), (preprocessed - decoded) / 1e6 / jpegs.size());
            }
        }
    }
}
