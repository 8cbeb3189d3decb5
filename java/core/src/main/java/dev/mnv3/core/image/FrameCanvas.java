package dev.mnv3.core.image;

import java.io.IOException;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import org.w3c.dom.Node;

/**
 * The first frame of a GIF or an animated WebP as PIL sees it: drawn at its offset on the canvas,
 * the rest of the canvas filled. javax.imageio (and TwelveMonkeys' WebP reader) hands out the bare
 * frame. A GIF's logical screen grows to hold the frame and is filled with its transparent colour
 * index, or index 0 (Pillow's first frame, converted to RGB through the frame's palette). An
 * animated WebP's canvas is filled as libwebp's animation decoder starts it, transparent black,
 * which PIL's {@code convert("RGB")} makes black; the first frame is a key frame, so its own
 * pixels are drawn as they are, whatever its blending and disposal say.
 *
 * @param fill the fill colour as 0xRRGGBB
 */
record FrameCanvas(int width, int height, int x, int y, int frameWidth, int frameHeight, int fill) {
    private static final String STREAM = "javax_imageio_gif_stream_1.0", IMAGE = "javax_imageio_gif_image_1.0";

    /** The canvas of an image whose first frame does not cover it exactly; null for any other image. */
    static FrameCanvas of(ImageReader reader, ImageSource source) throws IOException {
        if ("webp".equalsIgnoreCase(reader.getFormatName())) return WebpCanvas.of(source);
        if (!"gif".equalsIgnoreCase(reader.getFormatName())) return null;
        IIOMetadata stream = reader.getStreamMetadata(), image = reader.getImageMetadata(0);
        if (stream == null || image == null) return null;
        Node s = stream.getAsTree(STREAM), i = image.getAsTree(IMAGE);
        Node screen = child(s, "LogicalScreenDescriptor"), frame = child(i, "ImageDescriptor");
        if (screen == null || frame == null) return null;
        int x = attribute(frame, "imageLeftPosition"), y = attribute(frame, "imageTopPosition");
        int fw = attribute(frame, "imageWidth"), fh = attribute(frame, "imageHeight");
        int w = Math.max(attribute(screen, "logicalScreenWidth"), x + fw), h = Math.max(attribute(screen, "logicalScreenHeight"), y + fh);
        if (x == 0 && y == 0 && w == fw && h == fh) return null;
        Node control = child(i, "GraphicControlExtension");
        int index = control != null && "TRUE".equalsIgnoreCase(text(control, "transparentColorFlag"))
                ? attribute(control, "transparentColorIndex") : 0;
        Node palette = child(i, "LocalColorTable");
        if (palette == null) palette = child(s, "GlobalColorTable");
        return new FrameCanvas(w, h, x, y, fw, fh, colour(palette, index));
    }

    /** The palette's colour at {@code index}; without a palette (a grey image to PIL) the grey of that level; black past its end. */
    private static int colour(Node palette, int index) {
        if (palette == null) return index * 0x010101;
        for (Node e = palette.getFirstChild(); e != null; e = e.getNextSibling()) {
            if (attribute(e, "index") == index) return attribute(e, "red") << 16 | attribute(e, "green") << 8 | attribute(e, "blue");
        }
        return 0;
    }

    private static Node child(Node parent, String name) {
        for (Node c = parent.getFirstChild(); c != null; c = c.getNextSibling()) if (c.getNodeName().equals(name)) return c;
        return null;
    }

    private static String text(Node n, String attribute) {
        Node a = n.getAttributes().getNamedItem(attribute);
        return a == null ? null : a.getNodeValue();
    }

    private static int attribute(Node n, String attribute) {
        String v = text(n, attribute);
        return v == null ? 0 : Integer.parseInt(v);
    }
}
