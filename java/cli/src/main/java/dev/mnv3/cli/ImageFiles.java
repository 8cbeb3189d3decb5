package dev.mnv3.cli;

import dev.mnv3.core.image.RgbImage;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Image decoding with javax.imageio (JPEG, PNG, BMP, GIF): the CLI's only use of java.desktop. */
final class ImageFiles {
    private ImageFiles() {
    }

    static RgbImage decode(Path p) throws IOException {
        if (!Files.isRegularFile(p)) throw new NoSuchFileException(p.toString());
        BufferedImage img;
        try {
            img = ImageIO.read(p.toFile());
        } catch (IOException e) {
            throw new Main.UserError("cannot decode image " + p + ": " + e.getMessage());
        }
        if (img == null) throw new Main.UserError("cannot decode image " + p + " (supported: JPEG, PNG, BMP, GIF)");
        int w = img.getWidth(), h = img.getHeight();
        int[] rgb = img.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < rgb.length; i++) rgb[i] &= 0xffffff;
        return new RgbImage(w, h, rgb);
    }
}
