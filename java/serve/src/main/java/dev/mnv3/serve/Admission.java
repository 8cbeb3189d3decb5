package dev.mnv3.serve;

/**
 * The bound on inference requests being received and prepared (read, parsed, their images
 * decoded) at once, in number and in body bytes: a request past it is refused before any of its
 * work is done (429 / RESOURCE_EXHAUSTED), so that a crowd of large requests cannot fill the heap
 * or the processors. A request holds its {@link Ticket} until its input is in the batcher's queue,
 * whose own limit bounds what waits there.
 */
public final class Admission {
    private final int maxRequests;
    private final long maxBytes;
    private int requests;
    private long bytes;

    /**
     * @param maxRequests requests being received and prepared at once
     * @param maxBytes    their body bytes together (REST: the declared Content-Length, or the body
     *                    limit when none is declared; gRPC counts requests only)
     */
    public Admission(int maxRequests, long maxBytes) {
        if (maxRequests < 1) throw new IllegalArgumentException("the admission limit must be >= 1 request, got " + maxRequests);
        if (maxBytes < 1) throw new IllegalArgumentException("the admission limit must be >= 1 byte, got " + maxBytes);
        this.maxRequests = maxRequests;
        this.maxBytes = maxBytes;
    }

    /** A request's place; closing it (once or more) gives the place back. */
    public final class Ticket implements AutoCloseable {
        private final long held;
        private boolean closed;

        private Ticket(long held) {
            this.held = held;
        }

        @Override
        public void close() {
            synchronized (Admission.this) {
                if (closed) return;
                closed = true;
                requests--;
                bytes -= held;
            }
        }
    }

    /** A ticket for a request of {@code requestBytes}, or an OVERLOADED error naming what is full. */
    public synchronized Ticket enter(long requestBytes) {
        // a request larger than the whole byte budget still runs, alone
        if (requests >= maxRequests || (requests > 0 && bytes + requestBytes > maxBytes)) {
            throw new ServeError(ServeError.Kind.OVERLOADED, String.format("the server is receiving %d requests (%.1f MiB) already, "
                    + "its limit; retry later", requests, bytes / 1048576.0));
        }
        requests++;
        bytes += requestBytes;
        return new Ticket(requestBytes);
    }

    /** Requests holding a ticket now. */
    public synchronized int requests() {
        return requests;
    }

    /** Their bytes. */
    public synchronized long bytes() {
        return bytes;
    }

    public int maxRequests() {
        return maxRequests;
    }

    public long maxBytes() {
        return maxBytes;
    }
}
