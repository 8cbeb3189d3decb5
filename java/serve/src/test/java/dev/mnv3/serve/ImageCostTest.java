package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.testing.ZeroPngs;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an image may cost the server: bounded by the crop it is for (pixels from its header), by
 * PIL's limit, and in time; and a request of costly images never holds more than its share of
 * the decode threads, so that another request's image is decoded meanwhile.
 */
class ImageCostTest {
    @TempDir
    Path dir;
    /** The server with the default image bounds, shared by the tests that use them. */
    private static TestServer defaults;

    @BeforeAll
    static void start() throws Exception {
        defaults = server(CoreImageDecoder.DEFAULT);
    }

    @AfterAll
    static void stop() {
        if (defaults != null) defaults.close();
    }

    private static TestServer server(CoreImageDecoder decoder) throws Exception {
        return new TestServer(TestServer.config(new BatchPolicy(8, 0, 64), 32 << 20), 1, false, decoder);
    }

    /** A request of {@code images} as BYTES in binary tensor data, through curl. */
    private Tools.Http post(TestServer s, String name, byte[]... images) throws Exception {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        for (byte[] image : images) raw.writeBytes(Bodies.bytesElement(image));
        Bodies.Binary b = Bodies.binary("{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[" + images.length + "],"
                + "\"parameters\":{\"binary_data_size\":" + raw.size() + "}}]}", raw.toByteArray());
        Path body = Files.write(dir.resolve(name), b.body());
        return Tools.curl(s.url("/v2/models/small/infer"), body, "Inference-Header-Content-Length: " + b.headerLength());
    }

    /** An RGB PNG of zeros whose every row uses the Paeth filter: tiny, and slow to decode for its size. */
    private static byte[] slowPng(int side) throws Exception {
        return ZeroPngs.of(side, side, side, 2, 3, 4);
    }

    @Test
    void anImageIsRefusedFromItsHeaderWhenItsDecodeWouldCostTooMuch() throws Exception {
        // a 64x64 crop: at most 1000 x 64 x 64 = 4,096,000 pixels decoded
        Tools.Http over = post(defaults, "over", ZeroPngs.grey(3000, 3000, 3000));
        assertEquals(400, over.status(), over.text());
        assertTrue(over.text().contains("element 0: image in the request is 3000x3000, 9,000,000 pixels: decoding it would cost more "
                + "than the 4,096,000 pixels allowed here"), over.text());
        Tools.Http bomb = post(defaults, "bomb", ZeroPngs.grey(20000, 20000, 1));
        assertEquals(400, bomb.status(), bomb.text());
        assertTrue(bomb.text().contains("20000x20000, 400,000,000 pixels: more than the 178,956,970 mnv3 decodes"), bomb.text());
        Tools.Http under = post(defaults, "under", ZeroPngs.grey(2000, 2000, 2000));
        assertEquals(200, under.status(), under.text());
        // the ratio is the server's setting: at 3000, 12 megapixels are allowed for this crop
        try (TestServer s = server(new CoreImageDecoder(3000, Duration.ofSeconds(30)))) {
            assertEquals(200, post(s, "over", ZeroPngs.grey(3000, 3000, 3000)).status());
        }
    }

    @Test
    void aDecodePastItsTimeIsRefused() throws Exception {
        try (TestServer s = server(new CoreImageDecoder(1000, Duration.ofMillis(10)))) {
            Tools.Http slow = post(s, "slow", slowPng(2000));
            assertEquals(400, slow.status(), slow.text());
            assertTrue(slow.text().contains("element 0: decoding image in the request took longer than the 10 ms allowed"), slow.text());
        }
    }

    /**
     * Two requests of six slow images each, then one of a small image: it is answered long before
     * either, because each request decodes one image at a time on the shared threads, in turn.
     */
    @Test
    void costlyImagesDoNotHoldOtherRequestsBack() throws Exception {
        byte[] slow = slowPng(1500), small = Bodies.image(97, 80, 1, "png");
        TestServer s = defaults;
        assertEquals(200, post(s, "warm", small, slow).status());
        long start = System.nanoTime();
        CompletableFuture<Long> a = timed(() -> post(s, "a", slow, slow, slow, slow, slow, slow), start);
        CompletableFuture<Long> b = timed(() -> post(s, "b", slow, slow, slow, slow, slow, slow), start);
        Thread.sleep(100);
        long smallTook = timed(() -> post(s, "c", small), System.nanoTime()).get(60, TimeUnit.SECONDS);
        long slowTook = Math.min(a.get(60, TimeUnit.SECONDS), b.get(60, TimeUnit.SECONDS));
        assertTrue(smallTook < slowTook / 2, "the small image took " + smallTook / 1e6 + " ms, behind requests of costly images that took "
                + slowTook / 1e6 + " ms");
    }

    private interface Call {
        Tools.Http run() throws Exception;
    }

    /** The call on a thread of its own: how long it took from {@code start}, once it answered 200. */
    private static CompletableFuture<Long> timed(Call call, long start) {
        CompletableFuture<Long> took = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                Tools.Http r = call.run();
                assertEquals(200, r.status(), r.text());
                took.complete(System.nanoTime() - start);
            } catch (Exception | AssertionError e) {
                took.completeExceptionally(e);
            }
        });
        return took;
    }
}
