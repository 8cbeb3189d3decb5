package dev.mnv3.serve;

/** Told about every batch the {@link DynamicBatcher} runs (metrics and statistics listen). */
public interface BatchObserver {
    /**
     * A batch of {@code requests} requests holding {@code images} images ran at size
     * {@code paddedImages}, taking {@code computeNanos}; {@code queueNanos} is how long each
     * request waited in the queue.
     */
    void batchCompleted(int requests, int images, int paddedImages, long computeNanos, long[] queueNanos);

    /** A batch failed in the model; its requests get the error. */
    void batchFailed(int requests, int images, long computeNanos);

    /** Tells each of {@code observers}, in order. */
    static BatchObserver all(BatchObserver... observers) {
        return new BatchObserver() {
            @Override
            public void batchCompleted(int requests, int images, int paddedImages, long computeNanos, long[] queueNanos) {
                for (BatchObserver o : observers) o.batchCompleted(requests, images, paddedImages, computeNanos, queueNanos);
            }

            @Override
            public void batchFailed(int requests, int images, long computeNanos) {
                for (BatchObserver o : observers) o.batchFailed(requests, images, computeNanos);
            }
        };
    }

    BatchObserver NONE = new BatchObserver() {
        @Override
        public void batchCompleted(int requests, int images, int paddedImages, long computeNanos, long[] queueNanos) {
        }

        @Override
        public void batchFailed(int requests, int images, long computeNanos) {
        }
    };
}
