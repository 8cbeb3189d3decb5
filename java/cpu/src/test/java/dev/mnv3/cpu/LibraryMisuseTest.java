package dev.mnv3.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.MobileNetV3Config;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.image.ImageDecoder;
import dev.mnv3.core.image.ImageSource;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.image.PreprocessingStage;
import dev.mnv3.core.image.RgbImage;
import dev.mnv3.core.tensor.DType;
import dev.mnv3.core.tensor.Tensor;
import dev.mnv3.core.weights.RandomWeights;
import dev.mnv3.cpu.fast.FastBackend;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The library used wrongly, at every public entry point that takes the caller's arrays, tensors or
 * shapes: each misuse (wrong type, rank, channels, a destination too small, a negative offset, a
 * null) is one line of IllegalArgumentException naming the argument, what was expected and what
 * was given; never a message about something else (raw images read as 32 channels, the caller's
 * array blamed on the image) nor an exception from deep inside.
 */
class LibraryMisuseTest {
    @TempDir
    static Path dir;
    static Path png;
    static CompiledModel fast, reference;
    static PreprocessingStage stage;
    static final Preprocessing PREP = new Preprocessing(40, 32);
    static final RgbImage IMAGE = new RgbImage(48, 40, new int[48 * 40]);

    @BeforeAll
    static void models() throws Exception {
        Graph graph = Graph.of(MobileNetV3Config.small());
        var weights = RandomWeights.generate(graph, 1);
        fast = new FastBackend().compile(graph, weights, CompileOptions.defaults().withThreads(1));
        reference = new ReferenceBackend().compile(graph, weights, CompileOptions.defaults());
        png = dir.resolve("photo.png");
        ImageIO.write(new BufferedImage(48, 40, BufferedImage.TYPE_INT_RGB), "png", png.toFile());
        stage = new PreprocessingStage(PREP, 1);
    }

    @AfterAll
    static void close() {
        fast.close();
        reference.close();
        stage.close();
    }

    interface Call {
        void run() throws Exception;
    }

    static Arguments misuse(String name, Call call, String... expected) {
        return Arguments.of(name, call, expected);
    }

    static Stream<Arguments> misuses() {
        Tensor images = Tensor.ofBytes(new int[] {1, 32, 32, 3}, new byte[32 * 32 * 3]);
        Tensor crops = Tensor.zeros(1, 3, 32, 32);
        List<Function<CompiledModel, Arguments[]>> perModel = List.of(m -> new Arguments[] {
            misuse(m.backend() + " run: raw U8 images", () -> m.run(images), "input is U8 [1,32,32,3]",
                    "expected F32, F16 or BF16 [N,3,H,W]", "runImages"),
            misuse(m.backend() + " run: a U8 NCHW tensor", () -> m.run(Tensor.ofBytes(new int[] {1, 3, 32, 32}, new byte[3 * 32 * 32])),
                    "input is U8 [1,3,32,32]"),
            misuse(m.backend() + " run: rank 3", () -> m.run(Tensor.zeros(3, 32, 32)), "input must be a rank-4 tensor [N,3,H,W], got rank 3"),
            misuse(m.backend() + " run: 4 channels", () -> m.run(Tensor.zeros(1, 4, 32, 32)), "input must have 3 channels", "got 4"),
            misuse(m.backend() + " run: null", () -> m.run(null), "input is null: expected an F32, F16 or BF16 tensor [N,3,H,W]"),
            misuse(m.backend() + " trace: raw U8 images", () -> m.trace(images), "input is U8 [1,32,32,3]"),
            misuse(m.backend() + " run: U8 logits", () -> m.run(crops, DType.U8), "output type U8", "expected F32, F16 or BF16"),
            misuse(m.backend() + " runImages: float crops", () -> m.runImages(crops, PREP), "images is F32 [1,3,32,32]",
                    "expected raw images, U8 [N,H,W,3]"),
            misuse(m.backend() + " runImages: null preprocessing", () -> m.runImages(images, null), "preprocessing is null: expected a Preprocessing"),
        });
        Stream<Arguments> models = Stream.of(fast, reference).flatMap(m -> perModel.stream().flatMap(f -> Arrays.stream(f.apply(m))));
        int crop = 3 * 32 * 32;
        Stream<Arguments> arrays = Stream.of(
            misuse("applyInto: dst too small", () -> PREP.applyInto(IMAGE, new float[crop - 1], 0),
                    "dst of length 3071 holds 3071 values from offset 0, expected room for a crop of 3x32x32: 3072 values"),
            misuse("applyInto: offset past the room", () -> PREP.applyInto(IMAGE, new float[2 * crop], crop + 1),
                    "dst of length 6144 holds 3071 values from offset 3073"),
            misuse("applyInto: offset past the end", () -> PREP.applyInto(IMAGE, new float[crop], crop + 5), "holds 0 values from offset 3077"),
            misuse("applyInto: negative offset", () -> PREP.applyInto(IMAGE, new float[2 * crop], -1), "offset is -1, expected >= 0"),
            misuse("applyInto: null dst", () -> PREP.applyInto(IMAGE, null, 0), "dst is null: expected a float[]"),
            misuse("decoder: dst too small for a good image", () -> ImageDecoder.preprocess(ImageSource.of(png), PREP, new float[100], 0),
                    "dst of length 100 holds 100 values from offset 0, expected room for a crop of 3x32x32"),
            misuse("decoder: negative offset", () -> ImageDecoder.preprocess(ImageSource.of(png), PREP, new float[crop], -3),
                    "offset is -3, expected >= 0"),
            misuse("decoder: null source", () -> ImageDecoder.decode(null), "source is null: expected an ImageSource"),
            misuse("apply: U8 NCHW images", () -> PREP.apply(Tensor.ofBytes(new int[] {1, 3, 8, 8}, new byte[192])),
                    "images is U8 [1,3,8,8], expected raw images, U8 [N,H,W,3]"),
            misuse("apply: a null image", () -> PREP.apply(IMAGE, null), "images[1] is null: expected a decoded image"),
            misuse("stage: a null source", () -> stage.preprocess(Arrays.asList(ImageSource.of(png), null)),
                    "images[1] is null: expected an ImageSource"),
            misuse("stage: batch size 0", () -> stage.batches(List.of(ImageSource.of(png)), 0, PreprocessingStage.Form.PREPROCESSED),
                    "batchSize is 0, expected >= 1"),
            misuse("stage: raw images of rank 3", () -> stage.preprocess(Tensor.ofBytes(new int[] {8, 8, 3}, new byte[192])),
                    "images is U8 [8,8,3]"),
            misuse("tensor: null data", () -> new Tensor(new int[] {1, 3}, null), "data is null: expected a float[]"),
            misuse("tensor: shape and data disagree", () -> Tensor.ofBytes(new int[] {1, 8, 8, 3}, new byte[10]),
                    "shape [1,8,8,3] holds 192 values, data has 10"),
            misuse("tensor: null shape", () -> Tensor.zeros((int[]) null), "shape is null: expected an int[]"),
            misuse("tensor: slice past the end", () -> crops.slice(0, 2), "slice [0, 2) of [1,3,32,32], expected 0 <= from <= to <= 1"));
        return Stream.concat(models, arrays);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("misuses")
    void eachMisuseIsOneLineNamingTheArgument(String name, Call call, String[] expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run, name);
        String m = e.getMessage();
        assertEquals(1, m.lines().count(), name + ": " + m);
        for (String part : expected) assertTrue(m.contains(part), name + ": expected '" + part + "' in: " + m);
    }
}
