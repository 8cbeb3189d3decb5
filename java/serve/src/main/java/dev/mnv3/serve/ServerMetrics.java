package dev.mnv3.serve;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Locale;
import java.util.TreeSet;
import java.util.function.IntSupplier;

/**
 * The server's metrics in Prometheus' text format (Prometheus client_java): requests and failures
 * by protocol, end-to-end request time, queue time, compute time and batch sizes as histograms,
 * padding, queue depth and calls in flight, plus the JVM's and the process's own metrics (heap,
 * direct buffers, resident memory), the ones to watch for growth under load.
 */
public final class ServerMetrics implements BatchObserver {
    public static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;
    /** 100 us to 10 s. */
    private static final double[] SECONDS = {1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final Counter requests, failures, paddingImages, batchFailures;
    private final Histogram requestSeconds, queueSeconds, computeSeconds, batchSize;

    public ServerMetrics(int maxBatchSize) {
        requests = Counter.builder().name("mnv3_requests").help(
                "Inference requests received, by protocol (rest, grpc), those the transport refused included.")
                .labelNames("protocol").register(registry);
        failures = Counter.builder().name("mnv3_request_failures").help(
                "Inference requests not served, by protocol and reason (bad_request, unauthenticated, not_found, timeout, overloaded, "
                        + "unavailable, internal; internal is a fault of the server, never of the request).")
                .labelNames("protocol", "reason").register(registry);
        requestSeconds = Histogram.builder().name("mnv3_request_duration_seconds").unit(Unit.SECONDS)
                .help("Time from a request's arrival to its response, served requests only.").labelNames("protocol")
                .classicOnly().classicUpperBounds(SECONDS).register(registry);
        queueSeconds = Histogram.builder().name("mnv3_queue_duration_seconds").unit(Unit.SECONDS)
                .help("Time a request waited in the batcher's queue.").classicOnly().classicUpperBounds(SECONDS).register(registry);
        computeSeconds = Histogram.builder().name("mnv3_compute_duration_seconds").unit(Unit.SECONDS)
                .help("Time a batch ran in the model.").classicOnly().classicUpperBounds(SECONDS).register(registry);
        batchSize = Histogram.builder().name("mnv3_batch_size").help("Images per batch run (before padding).")
                .classicOnly().classicUpperBounds(sizeBuckets(maxBatchSize)).register(registry);
        batchFailures = Counter.builder().name("mnv3_batch_failures").help("Batches that failed in the model.").register(registry);
        paddingImages = Counter.builder().name("mnv3_padding_images")
                .help("Zero images added to batches to reach a padded batch size.").register(registry);
        JvmMetrics.builder().register(registry);
    }

    /** Adds the gauges read at each scrape: the batcher's queue depth, the calls in flight, and those being received. */
    public void watch(IntSupplier queueDepth, IntSupplier inFlight, IntSupplier receiving) {
        GaugeWithCallback.builder().name("mnv3_requests_receiving").help(
                "Inference calls admitted and being received or prepared (read, parsed, images decoded); more are refused with 429.")
                .callback(cb -> cb.call(receiving.getAsInt())).register(registry);
        GaugeWithCallback.builder().name("mnv3_queue_depth").help("Requests waiting in the batcher's queue.")
                .callback(cb -> cb.call(queueDepth.getAsInt())).register(registry);
        GaugeWithCallback.builder().name("mnv3_requests_in_flight").help("Inference calls admitted and not yet answered.")
                .callback(cb -> cb.call(inFlight.getAsInt())).register(registry);
    }

    /** Bucket bounds 1, 2, 4, ... up to the max batch size, and the max itself. */
    private static double[] sizeBuckets(int max) {
        TreeSet<Integer> b = new TreeSet<>();
        for (int s = 1; s < max; s *= 2) b.add(s);
        b.add(max);
        return b.stream().mapToDouble(Integer::doubleValue).toArray();
    }

    /** One inference request answered: {@code failure} is null when it was served. */
    public void requestDone(String protocol, ServeError.Kind failure, long nanos) {
        requests.labelValues(protocol).inc();
        if (failure == null) {
            requestSeconds.labelValues(protocol).observe(nanos / 1e9);
        } else {
            failures.labelValues(protocol, failure.name().toLowerCase(Locale.ROOT)).inc();
        }
    }

    @Override
    public void batchCompleted(int requests, int images, int paddedImages, long computeNanos, long[] queueNanos) {
        for (long q : queueNanos) queueSeconds.observe(q / 1e9);
        computeSeconds.observe(computeNanos / 1e9);
        batchSize.observe(images);
        if (paddedImages > images) paddingImages.inc(paddedImages - images);
    }

    @Override
    public void batchFailed(int requests, int images, long computeNanos) {
        batchFailures.inc();
    }

    public void writeTo(OutputStream out) throws IOException {
        writer.write(out, registry.scrape());
    }
}
