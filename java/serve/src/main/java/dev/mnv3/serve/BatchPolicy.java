package dev.mnv3.serve;

import java.util.Arrays;
import java.util.TreeSet;

/**
 * How the {@link DynamicBatcher} forms batches.
 *
 * @param maxBatchSize        most images in one batch (1: every request runs alone)
 * @param maxQueueDelayMicros how long the oldest waiting request may wait for others to join it
 * @param queueLimit          most requests waiting; one more is refused (429 / RESOURCE_EXHAUSTED)
 * @param paddedSizes         batch sizes a formed batch is padded up to (ascending, the last is
 *                            {@code maxBatchSize}); empty: batches run at the size they have
 */
public record BatchPolicy(int maxBatchSize, long maxQueueDelayMicros, int queueLimit, int[] paddedSizes) {
    public BatchPolicy {
        if (maxBatchSize < 1 || maxBatchSize > 1024) {
            throw new IllegalArgumentException("max batch size must be from 1 to 1024, got " + maxBatchSize);
        }
        if (maxQueueDelayMicros < 0 || maxQueueDelayMicros > 10_000_000) {
            throw new IllegalArgumentException("max queue delay must be from 0 to 10000000 us, got " + maxQueueDelayMicros);
        }
        if (queueLimit < 1) throw new IllegalArgumentException("queue limit must be >= 1, got " + queueLimit);
        paddedSizes = paddedSizes.clone();
        for (int i = 0; i < paddedSizes.length; i++) {
            if (paddedSizes[i] < 1 || (i > 0 && paddedSizes[i] <= paddedSizes[i - 1])) {
                throw new IllegalArgumentException("padded batch sizes must be ascending and >= 1, got " + Arrays.toString(paddedSizes));
            }
        }
        if (paddedSizes.length > 0 && paddedSizes[paddedSizes.length - 1] != maxBatchSize) {
            throw new IllegalArgumentException("the largest padded batch size must be the max batch size " + maxBatchSize + ", got "
                    + Arrays.toString(paddedSizes));
        }
    }

    /** Without padding. */
    public BatchPolicy(int maxBatchSize, long maxQueueDelayMicros, int queueLimit) {
        this(maxBatchSize, maxQueueDelayMicros, queueLimit, new int[0]);
    }

    @Override
    public int[] paddedSizes() {
        return paddedSizes.clone();
    }

    public long maxQueueDelayNanos() {
        return maxQueueDelayMicros * 1000;
    }

    /** The size a batch of {@code images} runs at: the smallest padded size that holds it, or itself. */
    public int paddedSize(int images) {
        for (int s : paddedSizes) if (s >= images) return s;
        return images;
    }

    /**
     * The padding ladder for a backend that keeps one plan per batch size: 1 (a lone request pays
     * nothing), a quarter, a half, and all of the max batch size. Four sizes, because a CUDA model
     * keeps four plans (each with its captured graph) per lane; more would rebuild them in turn.
     */
    public static int[] ladder(int maxBatchSize) {
        TreeSet<Integer> sizes = new TreeSet<>();
        sizes.add(1);
        sizes.add((maxBatchSize + 3) / 4);
        sizes.add((maxBatchSize + 1) / 2);
        sizes.add(maxBatchSize);
        return sizes.stream().mapToInt(Integer::intValue).toArray();
    }

    public BatchPolicy withPaddedSizes(int[] sizes) {
        return new BatchPolicy(maxBatchSize, maxQueueDelayMicros, queueLimit, sizes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BatchPolicy p && p.maxBatchSize == maxBatchSize && p.maxQueueDelayMicros == maxQueueDelayMicros
                && p.queueLimit == queueLimit && Arrays.equals(p.paddedSizes, paddedSizes);
    }

    @Override
    public int hashCode() {
        return Integer.hashCode(maxBatchSize) * 31 + Arrays.hashCode(paddedSizes);
    }

    @Override
    public String toString() {
        return "max batch " + maxBatchSize + ", max queue delay " + maxQueueDelayMicros + " us, queue limit " + queueLimit
                + (paddedSizes.length > 0 ? ", padded to " + Arrays.toString(paddedSizes) : "");
    }
}
