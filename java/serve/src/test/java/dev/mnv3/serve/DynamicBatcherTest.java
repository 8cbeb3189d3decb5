package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mnv3.core.graph.FeatureLevel;
import dev.mnv3.core.image.Preprocessing;
import dev.mnv3.core.tensor.Tensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DynamicBatcherTest {
    private static final int H = 32, W = 32, PER = 3 * H * W;

    private static DynamicBatcher.Result get(CompletableFuture<DynamicBatcher.Result> f) throws Exception {
        return f.get(30, TimeUnit.SECONDS);
    }

    /** Holds the worker in its first run, so that everything submitted next waits in the queue. */
    private static CompletableFuture<DynamicBatcher.Result> occupy(DynamicBatcher b, FakeModel m) throws InterruptedException {
        m.gate = new CountDownLatch(1);
        m.started = new CountDownLatch(1);
        CompletableFuture<DynamicBatcher.Result> first = b.submit(FakeModel.images(1, H, W, -1), false);
        assertTrue(m.started.await(30, TimeUnit.SECONDS), "the first request never reached the model");
        return first;
    }

    /** An image request as REST or gRPC decodes it: one PNG-looking element per image, {@code v} its last byte. */
    private static InferRequest images(int... values) {
        List<byte[]> elements = new ArrayList<>();
        for (int v : values) elements.add(new byte[] {(byte) 0x89, 'P', 'N', 'G', (byte) v});
        return new InferRequest("", List.of(new InferRequest.Input(ServedModel.IMAGE, "BYTES", new long[] {values.length}, null, elements)),
                List.of(), false);
    }

    @Test
    void aDecodedCropIsCopiedOnceIntoTheBatchAndNotAtAllWhenItIsTheBatch() throws Exception {
        FakeModel m = new FakeModel();
        List<float[]> decoded = Collections.synchronizedList(new ArrayList<>());
        RequestImageDecoder decoder = (encoded, p) -> {
            float[] crop = new float[3 * p.crop() * p.crop()];
            Arrays.fill(crop, encoded[encoded.length - 1]);
            decoded.add(crop);
            return crop;
        };
        ServedModel model = new ServedModel("fake", FakeModel.GRAPH, new Preprocessing(H, H), "fake");
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m), new BatchPolicy(8, 0, 100), BatchObserver.NONE);
                CpuWork cpu = new CpuWork(1)) {
            RequestInputs inputs = new RequestInputs(model, b.policy(), decoder, cpu);
            InputImages lone = inputs.of(images(5));
            assertSame(decoded.getFirst(), lone.parts().getFirst(), "the request's input is the decoded crop itself");
            assertEquals(5f * PER, get(b.submit(lone, false)).logits().data()[0]);
            assertSame(decoded.getFirst(), m.inputs.getLast(), "a lone image runs on its crop, uncopied");

            CompletableFuture<DynamicBatcher.Result> first = occupy(b, m);
            decoded.clear();
            InputImages pair = inputs.of(images(2, 3));
            InputImages single = inputs.of(images(4));
            for (int i = 0; i < 3; i++) {
                assertSame(decoded.get(i), (i < 2 ? pair.parts().get(i) : single.parts().getFirst()), "crop " + i + " was copied");
            }
            CompletableFuture<DynamicBatcher.Result> a = b.submit(pair, false), c = b.submit(single, false);
            m.gate.countDown();
            get(first);
            assertEquals(List.of(2f * PER, 3f * PER), List.of(get(a).logits().data()[0], get(a).logits().data()[3]));
            assertEquals(4f * PER, get(c).logits().data()[0]);
            float[] batch = m.inputs.getLast();
            assertEquals(3 * PER, batch.length, "the pair and the single image ran as one batch");
            for (int i = 0; i < 3; i++) {
                assertEquals(i + 2f, batch[i * PER], "crop " + i + " was copied into its place in the batch");
                for (float[] crop : decoded) assertTrue(crop != batch, "the batch is a new array, the one copy of each crop");
            }
        }
    }

    @Test
    void combinesRequestsOfOneShapeAndGivesEachItsOwnRows() throws Exception {
        FakeModel m = new FakeModel();
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m), new BatchPolicy(8, 0, 100), BatchObserver.NONE)) {
            CompletableFuture<DynamicBatcher.Result> first = occupy(b, m);
            List<CompletableFuture<DynamicBatcher.Result>> a = new ArrayList<>();
            for (int i = 0; i < 5; i++) a.add(b.submit(FakeModel.images(1, H, W, i + 1), false));
            CompletableFuture<DynamicBatcher.Result> two = b.submit(FakeModel.images(2, H, W, 10), false);
            CompletableFuture<DynamicBatcher.Result> other = b.submit(FakeModel.images(1, H, 2 * W, 7), false);
            m.gate.countDown();
            get(first);
            for (int i = 0; i < 5; i++) {
                Tensor logits = get(a.get(i)).logits();
                assertEquals(1, logits.dim(0));
                assertEquals((i + 1f) * PER, logits.data()[0], "request " + i + " got another request's row");
                assertEquals(7, logits.data()[2], "the five single images and the pair ran as one batch of 7");
            }
            Tensor pair = get(two).logits();
            assertEquals(2, pair.dim(0));
            assertEquals(10f * PER, pair.data()[0]);
            assertEquals(10f * PER, pair.data()[3]);
            assertEquals(14f * PER, get(other).logits().data()[0], "the other size ran in a batch of its own");
            assertEquals(List.of(1, 7, 1), m.batches);
            assertEquals(7, get(a.getFirst()).batchImages());
        }
    }

    @Test
    void fillsBatchesUpToTheMaxInArrivalOrder() throws Exception {
        FakeModel m = new FakeModel();
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m), new BatchPolicy(4, 0, 100), BatchObserver.NONE)) {
            occupy(b, m);
            List<CompletableFuture<DynamicBatcher.Result>> all = new ArrayList<>();
            for (int i = 0; i < 6; i++) all.add(b.submit(FakeModel.images(1, H, W, i), false));
            m.gate.countDown();
            for (int i = 0; i < 6; i++) assertEquals(i < 4 ? 4 : 2, get(all.get(i)).logits().data()[2], "request " + i);
            assertEquals(List.of(1, 4, 2), m.batches);
        }
    }

    @Test
    void aLoneRequestWaitsTheQueueDelayAFullBatchDoesNot() throws Exception {
        FakeModel m = new FakeModel();
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m), new BatchPolicy(4, 300_000, 100), BatchObserver.NONE)) {
            long t0 = System.nanoTime();
            DynamicBatcher.Result r = get(b.submit(FakeModel.images(1, H, W, 1), false));
            assertTrue(System.nanoTime() - t0 >= 300_000_000L, "a lone request must wait the 300 ms delay for company");
            assertTrue(r.queueNanos() >= 300_000_000L, "queue time " + r.queueNanos());
        }
        // a 10 s delay: a full batch must not wait for it
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m), new BatchPolicy(2, 10_000_000, 100), BatchObserver.NONE)) {
            long t0 = System.nanoTime();
            CompletableFuture<DynamicBatcher.Result> x = b.submit(FakeModel.images(1, H, W, 1), false);
            CompletableFuture<DynamicBatcher.Result> y = b.submit(FakeModel.images(1, H, W, 2), false);
            assertEquals(2, x.get(8, TimeUnit.SECONDS).batchImages());
            assertEquals(2, y.get(8, TimeUnit.SECONDS).batchImages());
            assertTrue(System.nanoTime() - t0 < 8_000_000_000L);
        }
    }

    @Test
    void refusesRequestsBeyondTheQueueLimit() throws Exception {
        FakeModel m = new FakeModel();
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m), new BatchPolicy(1, 0, 2), BatchObserver.NONE)) {
            CompletableFuture<DynamicBatcher.Result> running = occupy(b, m);
            CompletableFuture<DynamicBatcher.Result> q1 = b.submit(FakeModel.images(1, H, W, 1), false);
            CompletableFuture<DynamicBatcher.Result> q2 = b.submit(FakeModel.images(1, H, W, 2), false);
            assertEquals(2, b.queueDepth());
            ServeError e = assertThrows(ServeError.class, () -> b.submit(FakeModel.images(1, H, W, 3), false));
            assertEquals(ServeError.Kind.OVERLOADED, e.kind());
            assertTrue(e.getMessage().contains("queue is full"), e.getMessage());
            m.gate.countDown();
            get(running);
            assertEquals(2f * PER, get(q2).logits().data()[0]);
            assertEquals(1f * PER, get(q1).logits().data()[0]);
        }
    }

    @Test
    void runsBatchesOnSeveralInstancesAtOnce() throws Exception {
        FakeModel m = new FakeModel();
        m.gate = new CountDownLatch(1);
        m.started = new CountDownLatch(2);
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m, m), new BatchPolicy(1, 0, 10), BatchObserver.NONE)) {
            CompletableFuture<DynamicBatcher.Result> x = b.submit(FakeModel.images(1, H, W, 1), false);
            CompletableFuture<DynamicBatcher.Result> y = b.submit(FakeModel.images(1, H, W, 2), false);
            assertTrue(m.started.await(30, TimeUnit.SECONDS), "the second instance never took the second batch");
            assertEquals(2, m.mostAtOnce.get());
            m.gate.countDown();
            get(x);
            get(y);
        }
    }

    @Test
    void padsToThePaddedSizeAndSlicesThePaddingOff() throws Exception {
        FakeModel m = new FakeModel();
        int[] seen = new int[2];
        BatchObserver observer = new BatchObserver() {
            @Override
            public void batchCompleted(int requests, int images, int paddedImages, long computeNanos, long[] queueNanos) {
                if (requests == 3) {
                    seen[0] = images;
                    seen[1] = paddedImages;
                }
            }

            @Override
            public void batchFailed(int requests, int images, long computeNanos) {
            }
        };
        BatchPolicy policy = new BatchPolicy(8, 0, 100, BatchPolicy.ladder(8));
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m), policy, observer)) {
            occupy(b, m);
            List<CompletableFuture<DynamicBatcher.Result>> three = new ArrayList<>();
            for (int i = 0; i < 3; i++) three.add(b.submit(FakeModel.images(1, H, W, i + 1), false));
            m.gate.countDown();
            for (int i = 0; i < 3; i++) {
                Tensor logits = get(three.get(i)).logits();
                assertEquals(1, logits.dim(0), "the padding is sliced off");
                assertEquals((i + 1f) * PER, logits.data()[0]);
                assertEquals(4, logits.data()[2], "3 images run padded to 4");
            }
            assertEquals(List.of(1, 4), m.batches);
            assertEquals(3, seen[0]);
            assertEquals(4, seen[1]);
        }
    }

    @Test
    void aFailedBatchFailsItsRequestsAndTheNextOneRuns() throws Exception {
        FakeModel m = new FakeModel();
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m), new BatchPolicy(4, 0, 100), BatchObserver.NONE)) {
            IllegalStateException boom = new IllegalStateException("boom");
            m.failNext = boom;
            ExecutionException e = assertThrows(ExecutionException.class, () -> get(b.submit(FakeModel.images(1, H, W, 1), false)));
            assertSame(boom, e.getCause());
            assertEquals(2f * PER, get(b.submit(FakeModel.images(1, H, W, 2), false)).logits().data()[0]);
        }
    }

    @Test
    void drainingRefusesNewRequestsAndWaitsForQueuedOnes() throws Exception {
        FakeModel m = new FakeModel();
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m), new BatchPolicy(1, 0, 100), BatchObserver.NONE)) {
            CompletableFuture<DynamicBatcher.Result> running = occupy(b, m);
            CompletableFuture<DynamicBatcher.Result> queued = b.submit(FakeModel.images(1, H, W, 5), false);
            CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> b.drain(Duration.ofSeconds(30)));
            while (b.accepting()) Thread.onSpinWait();
            ServeError e = assertThrows(ServeError.class, () -> b.submit(FakeModel.images(1, H, W, 6), false));
            assertEquals(ServeError.Kind.UNAVAILABLE, e.kind());
            m.gate.countDown();
            assertTrue(drained.get(30, TimeUnit.SECONDS));
            assertTrue(running.isDone() && queued.isDone());
            assertEquals(5f * PER, get(queued).logits().data()[0]);
        }
    }

    @Test
    void afterStopDelayingQueuedRequestsRunWithoutWaitingAndNewOnesAreStillTaken() throws Exception {
        FakeModel m = new FakeModel();
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m), new BatchPolicy(8, 10_000_000, 100), BatchObserver.NONE)) {
            CompletableFuture<DynamicBatcher.Result> waiting = b.submit(FakeModel.images(1, H, W, 1), false);
            Thread.sleep(50);
            assertTrue(!waiting.isDone(), "a lone request waits up to the 10 s delay for company");
            b.stopDelaying();
            assertEquals(1, waiting.get(8, TimeUnit.SECONDS).batchImages());
            assertEquals(2f * PER, b.submit(FakeModel.images(1, H, W, 2), false).get(8, TimeUnit.SECONDS).logits().data()[0]);
        }
    }

    @Test
    void featureRequestsRunTracedInBatchesOfTheirOwn() throws Exception {
        FakeModel m = new FakeModel();
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m), new BatchPolicy(8, 0, 100), BatchObserver.NONE)) {
            occupy(b, m);
            CompletableFuture<DynamicBatcher.Result> plain = b.submit(FakeModel.images(1, H, W, 1), false);
            CompletableFuture<DynamicBatcher.Result> f2 = b.submit(FakeModel.images(1, H, W, 2), true);
            CompletableFuture<DynamicBatcher.Result> f3 = b.submit(FakeModel.images(1, H, W, 3), true);
            m.gate.countDown();
            assertEquals(null, get(plain).features());
            List<FeatureLevel> levels = FakeModel.GRAPH.featureLevels();
            for (int i = 0; i < levels.size(); i++) {
                Tensor f = get(f3).features().get(i);
                assertEquals(1, f.dim(0));
                assertEquals(3f * levels.get(i).stride(), f.data()[0], "request 3's own feature row at stride " + levels.get(i).stride());
            }
            assertEquals(2, get(f2).batchImages());
            assertEquals(List.of(1, 1, 2), m.batches);
        }
    }

    @Test
    void rejectsARequestLargerThanTheMaxBatch() {
        FakeModel m = new FakeModel();
        try (DynamicBatcher b = new DynamicBatcher(FakeModel.GRAPH, List.of(m), new BatchPolicy(2, 0, 10), BatchObserver.NONE)) {
            assertInstanceOf(IllegalArgumentException.class,
                    assertThrows(RuntimeException.class, () -> b.submit(FakeModel.images(3, H, W, 1), false)));
        }
    }
}
