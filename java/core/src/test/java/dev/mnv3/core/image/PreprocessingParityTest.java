package dev.mnv3.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.core.weights.SafeTensors;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Our ImageNet preprocessing against torchvision's transforms on PIL (Resize with antialiased
 * bilinear, CenterCrop, ToTensor, Normalize). Both round to 8 bits between the two resize
 * passes; PIL's fixed-point weights differ from ours in the last bits, so values agree to about
 * one grey level (1/255/std ~ 0.02).
 */
class PreprocessingParityTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}x{1} resize {2}")
    @CsvSource({"300, 200, 256", "180, 401, 256", "640, 480, 232", "224, 224, 256", "2000, 3, 256"})
    void matchesTorchvisionTransforms(int width, int height, int resize) throws Exception {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Random rnd = new Random(width * 31L + height);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                // smooth gradients plus noise: resampling differences show up, as they would on photos
                int r = (x * 255 / width + rnd.nextInt(24)) & 0xff, g = (y * 255 / height + rnd.nextInt(24)) & 0xff;
                int b = ((x + y) * 3 + rnd.nextInt(24)) & 0xff;
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        Path png = dir.resolve("image.png"), out = dir.resolve("expected.safetensors");
        ImageIO.write(img, "png", png.toFile());
        String script = String.join("\n",
                "import sys; sys.path.insert(0, sys.argv[3])",
                "import torch, safetensors_io",
                "from PIL import Image",
                "from torchvision import transforms as T",
                "t = T.Compose([T.Resize(int(sys.argv[4])), T.CenterCrop(224), T.ToTensor(),",
                "               T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])",
                "x = t(Image.open(sys.argv[1]).convert('RGB')).unsqueeze(0)",
                "safetensors_io.save(sys.argv[2], {'input': x})");
        TorchReference.runScript(script, png.toString(), out.toString(),
                TorchReference.repositoryRoot().resolve("tools/reference").toString(), Integer.toString(resize));

        Tensor ours = Tensor.zeros(1, 3, 224, 224);
        assertEquals(java.util.List.of(), ImageDecoder.preprocess(ImageSource.of(png), new Preprocessing(resize, 224), ours.data(), 0));
        Tensor theirs;
        try (SafeTensors st = SafeTensors.open(out)) {
            theirs = st.readTensor("input");
        }
        assertArrayEquals(theirs.shape(), ours.shape());
        double maxAbs = 0, sumAbs = 0;
        for (int i = 0; i < ours.size(); i++) {
            double d = Math.abs(ours.data()[i] - theirs.data()[i]);
            maxAbs = Math.max(maxAbs, d);
            sumAbs += d;
        }
        double meanAbs = sumAbs / ours.size();
        assertTrue(maxAbs < 0.06, "max abs difference " + maxAbs);
        assertTrue(meanAbs < 0.01, "mean abs difference " + meanAbs);
        assertEquals(1, ours.dim(0));
    }
}
