package dev.mnv3.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.testing.TorchReference;
import dev.mnv3.core.weights.SafeTensors;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each format's geometry and completeness as PIL sees them: a GIF's or animated WebP's first
 * frame drawn at its offset on the logical screen or canvas, and files cut short refused where PIL says "image file is
 * truncated" (and read where PIL reads them). PIL writes the files and gives its verdict on each.
 */
class GeometryParityTest {
    @TempDir
    static Path dir;
    static Path expected;

    private static final String SCRIPT = String.join("\n",
            "import sys, io, struct; sys.path.insert(0, sys.argv[2])",
            "import numpy as np, torch, safetensors_io",
            "from PIL import Image",
            "d = sys.argv[1]",
            "def frame(w, h, transparency=None, frames=1):",
            "    pal = []",
            "    for i in range(256): pal += [i, 255 - i, (i * 7) & 255]",
            "    ims = []",
            "    for f in range(frames):",
            "        im = Image.new('P', (w, h)); im.putpalette(pal)",
            "        im.putdata([(x * 13 + y * 7 + f * 50) % 256 for y in range(h) for x in range(w)])",
            "        ims.append(im)",
            "    b = io.BytesIO(); kw = {} if transparency is None else {'transparency': transparency}",
            "    if frames > 1: kw.update(save_all=True, append_images=ims[1:], disposal=2)",
            "    ims[0].save(b, 'GIF', **kw); return bytearray(b.getvalue())",
            // places the first frame at (x, y) on a logical screen of sw x sh, as other encoders write such files
            "def place(g, sw, sh, x, y):",
            "    g[6:10] = struct.pack('<HH', sw, sh)",
            "    p = 13 + (3 << ((g[10] & 7) + 1) if g[10] & 0x80 else 0)",
            "    while g[p] != 0x2c:",
            "        p += 2",
            "        while g[p]: p += g[p] + 1",
            "        p += 1",
            "    g[p + 1:p + 5] = struct.pack('<HH', x, y); return bytes(g)",
            "def chunk(tag, data):",
            "    return tag + struct.pack('<I', len(data)) + data + (b'\\0' if len(data) & 1 else b'')",
            // the VP8L, or VP8 and ALPH, chunks of a still WebP as PIL writes it
            "def bitstream(im, **kw):",
            "    b = io.BytesIO(); im.save(b, 'WEBP', **kw); v = b.getvalue(); p, out = 12, b''",
            "    while p < len(v):",
            "        tag, n = v[p:p + 4], struct.unpack('<I', v[p + 4:p + 8])[0]",
            "        if tag in (b'VP8L', b'VP8 ', b'ALPH'): out += v[p:p + 8 + n + (n & 1)]",
            "        p += 8 + n + (n & 1)",
            "    return out",
            "u24 = lambda v: struct.pack('<I', v)[:3]",
            // an animated WebP of frames (image, x, y, dispose, blend, save options) on a canvas, as other encoders write
            // them (PIL's own writer starts at the canvas' corner); the background colour is white, which libwebp ignores
            "def anim(cw, ch, frames, alpha=False):",
            "    body = chunk(b'VP8X', bytes([0x02 | (0x10 if alpha else 0), 0, 0, 0]) + u24(cw - 1) + u24(ch - 1))",
            "    body += chunk(b'ANIM', bytes([255, 255, 255, 255, 0, 0]))",
            "    for im, x, y, dispose, blend, kw in frames:",
            "        head = u24(x // 2) + u24(y // 2) + u24(im.size[0] - 1) + u24(im.size[1] - 1) + u24(100)",
            "        body += chunk(b'ANMF', head + bytes([(0 if blend else 2) | dispose]) + bitstream(im, **kw))",
            "    return b'RIFF' + struct.pack('<I', 4 + len(body)) + b'WEBP' + body",
            "def pattern(w, h, f, mode='RGB'):",
            "    yy, xx = np.mgrid[0:h, 0:w]",
            "    a = np.stack([(xx * 9 + f * 40) % 256, (yy * 11 + 5) % 256, (xx * yy + f * 90) % 256], -1)",
            "    if mode == 'RGBA': a = np.concatenate([a, ((xx + yy) * 17 % 256)[..., None]], -1)",
            "    return Image.fromarray(a.astype(np.uint8), mode)",
            "ll = {'lossless': True}",
            "files = {",
            "  'anim_offset.webp': anim(64, 48, [(pattern(20, 10, 0), 30, 24, 0, 1, ll), (pattern(64, 48, 1), 0, 0, 0, 1, ll)]),",
            "  'anim_offset_alpha.webp': anim(50, 40, [(pattern(24, 16, 0, 'RGBA'), 8, 12, 1, 1, ll), (pattern(50, 40, 1), 0, 0, 0, 0, ll)], True),",
            "  'anim_offset_lossy.webp': anim(48, 48, [(Image.new('RGB', (32, 16), (200, 100, 50)), 16, 2, 1, 0, {'quality': 90}),"
                    + " (pattern(48, 48, 1), 0, 0, 0, 1, ll)]),",
            "  'anim_corner.webp': anim(40, 30, [(pattern(40, 30, 0), 0, 0, 0, 1, ll), (pattern(10, 10, 1), 4, 4, 0, 1, ll)]),",
            "  'offset.gif': place(frame(20, 10), 64, 48, 30, 25),",
            "  'offset_transparent.gif': place(frame(20, 10, transparency=77), 64, 48, 3, 30),",
            "  'past_screen.gif': place(frame(40, 30), 48, 32, 20, 10),",
            "  'animated_offset.gif': place(frame(24, 16, frames=2), 50, 40, 9, 13),",
            "}",
            "h, w = 48, 64",
            "yy, xx = np.mgrid[0:h, 0:w]",
            "rgb = np.stack([(xx * 4) % 256, (yy * 5) % 256, (xx * yy) % 256], -1).astype(np.uint8)",
            "def enc(im, fmt, **kw):",
            "    b = io.BytesIO(); im.save(b, fmt, **kw); return b.getvalue()",
            "whole = {",
            "  'rgb.bmp': enc(Image.fromarray(rgb), 'BMP'),",
            "  'palette.bmp': enc(Image.fromarray(rgb).quantize(64), 'BMP'),",
            "  'grey.bmp': enc(Image.fromarray(rgb[:, :, 0]), 'BMP'),",
            "  'palette.gif': enc(Image.fromarray(rgb).quantize(64), 'GIF'),",
            "  'rgb.png': enc(Image.fromarray(rgb), 'PNG'),",
            "  'lossless.webp': enc(Image.fromarray(rgb), 'WEBP', lossless=True),",
            "  'lossy.webp': enc(Image.fromarray(rgb), 'WEBP', quality=80),",
            "}",
            // cut each file at half, at nine tenths and by its last one and two bytes
            "for name, data in whole.items():",
            "    stem, ext = name.rsplit('.', 1)",
            "    for tag, n in [('half', len(data) // 2), ('most', len(data) * 9 // 10), ('less1', len(data) - 1), ('less2', len(data) - 2)]:",
            "        files[stem + '_' + tag + '.' + ext] = data[:n]",
            "out = {}",
            "for name, data in files.items():",
            "    open(d + '/' + name, 'wb').write(data)",
            "    try:",
            "        out[name] = torch.from_numpy(np.asarray(Image.open(d + '/' + name).convert('RGB'), dtype=np.float32).copy())",
            "    except OSError as e:",
            "        out[name + '.refused'] = torch.zeros(1)",
            "safetensors_io.save(d + '/expected.safetensors', out)");

    @BeforeAll
    static void writeImagesWithPil() throws Exception {
        TorchReference.runScript(SCRIPT, dir.toString(), TorchReference.repositoryRoot().resolve("tools/reference").toString());
        expected = dir.resolve("expected.safetensors");
    }

    /**
     * The first frame on its screen (GIF) or canvas (animated WebP, lossless or lossy, with alpha or
     * without, whatever its disposal and blending): PIL's size and every pixel, the fill around the frame included.
     */
    @ParameterizedTest
    @ValueSource(strings = {"offset.gif", "offset_transparent.gif", "past_screen.gif", "animated_offset.gif",
        "anim_offset.webp", "anim_offset_alpha.webp", "anim_offset_lossy.webp", "anim_corner.webp"})
    void aFirstFrameIsDrawnOnItsCanvasAsPilDrawsIt(String name) throws Exception {
        RgbImage ours = ImageDecoder.decode(ImageSource.of(dir.resolve(name)));
        float[] pil = pil(name);
        assertEquals(pil.length, 3L * ours.width() * ours.height(), name + ": " + ours.width() + "x" + ours.height());
        int worst = 0;
        for (int i = 0; i < ours.rgb().length; i++) {
            for (int c = 0; c < 3; c++) worst = Math.max(worst, Math.abs((ours.rgb()[i] >> (16 - 8 * c) & 0xff) - (int) pil[3 * i + c]));
        }
        // TwelveMonkeys' VP8 decoder rounds a lossy frame's colours apart from libwebp's (a level or two on this flat
        // frame, tens on a gradient): the lossy case is one colour, so that a frame out of place is still 200 levels off
        assertTrue(worst <= (name.contains("lossy") ? 3 : 0), name + ": " + worst + " levels from PIL");
        // the preprocessed crop reads the region of the screen it needs: the same values as from the whole image
        Preprocessing prep = new Preprocessing(36, 24);
        float[] viaRegions = new float[3 * 24 * 24], viaWhole = new float[3 * 24 * 24];
        ImageDecoder.preprocess(ImageSource.of(dir.resolve(name)), prep, viaRegions, 0);
        prep.applyInto(ours, viaWhole, 0);
        for (int i = 0; i < viaWhole.length; i++) assertEquals(viaWhole[i], viaRegions[i], 1e-6, name + " crop value " + i);
    }

    /** Cut files: refused, naming the truncation, exactly where PIL refuses them; read as PIL reads them otherwise. */
    @ParameterizedTest
    @ValueSource(strings = {"rgb", "palette", "grey"})
    void aCutBmpIsRefusedAsPilRefusesIt(String stem) throws Exception {
        agreesWithPil(stem, "bmp");
    }

    @ParameterizedTest
    @ValueSource(strings = {"palette.gif", "rgb.png", "lossless.webp", "lossy.webp"})
    void cutGifPngAndWebpFilesAreRefusedAsPilRefusesThem(String name) throws Exception {
        String[] parts = name.split("\\.");
        agreesWithPil(parts[0], parts[1]);
    }

    /**
     * Where PIL refuses a cut file, so do decode and the crop's preprocessing (an error, or damage
     * that stops classify without --lenient). Where PIL reads it, the pixels are PIL's; mnv3 may be
     * stricter only about a file cut in its last bytes (a PNG without IEND, a GIF without its terminator).
     */
    private static void agreesWithPil(String stem, String ext) throws Exception {
        int refused = 0;
        for (String tag : List.of("half", "most", "less1", "less2")) {
            String name = stem + "_" + tag + "." + ext;
            ImageSource source = ImageSource.of(dir.resolve(name));
            boolean pilRefuses;
            try (SafeTensors st = SafeTensors.open(expected)) {
                pilRefuses = st.contains(name + ".refused");
            }
            if (pilRefuses) {
                refused++;
                ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(source), name);
                assertTrue(e.getMessage().contains(source.name()), e.getMessage());
                try {
                    List<String> damage = ImageDecoder.preprocess(source, new Preprocessing(36, 24), new float[3 * 24 * 24], 0);
                    assertFalse(damage.isEmpty(), name + ": preprocessed as if whole");
                } catch (ImageDecodeException expectedToo) {
                    assertTrue(expectedToo.getMessage().contains(source.name()), expectedToo.getMessage());
                }
                continue;
            }
            RgbImage ours;
            try {
                ours = ImageDecoder.decode(source);
            } catch (ImageDecodeException e) {
                assertTrue(tag.startsWith("less"), name + ": PIL reads it, mnv3 refuses it: " + e.getMessage());
                continue;
            }
            float[] pil = pil(name);
            assertEquals(pil.length, 3L * ours.width() * ours.height(), name);
            for (int i = 0; i < ours.rgb().length; i++) {
                for (int c = 0; c < 3; c++) assertEquals((int) pil[3 * i + c], ours.rgb()[i] >> (16 - 8 * c) & 0xff, name + " pixel " + i);
            }
        }
        assertTrue(refused >= 2, stem + "." + ext + ": PIL refused only " + refused + " of the cuts: the check could not fail");
    }

    private static float[] pil(String name) throws Exception {
        try (SafeTensors st = SafeTensors.open(expected)) {
            assertTrue(st.contains(name), "PIL refused " + name);
            return st.readFloats(name);
        }
    }
}
