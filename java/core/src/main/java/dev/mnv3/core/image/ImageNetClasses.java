package dev.mnv3.core.image;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The 1000 ImageNet-1k class names in torchvision's order. */
public final class ImageNetClasses {
    private static volatile List<String> names;

    private ImageNetClasses() {
    }

    public static List<String> names() {
        if (names == null) {
            try (var in = ImageNetClasses.class.getResourceAsStream("imagenet_classes.txt");
                 var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                names = List.copyOf(r.lines().toList());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return names;
    }

    /** The name of class {@code index}, or "class N" when the model has other classes than ImageNet's. */
    public static String name(int index, int numClasses) {
        return numClasses == 1000 ? names().get(index) : "class " + index;
    }
}
