package dev.mnv3.serve.rest;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The REST endpoint's one Jackson factory, strict about what it reads, and how its documents are written. */
final class RestJson {
    static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            // the body limit bounds the strings; nesting deeper than a tensor's rank plus a few levels is never valid
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).maxStringLength(Integer.MAX_VALUE - 64).build())
            .build();

    private RestJson() {
    }

    /** What writes one JSON document. */
    interface Document {
        void write(JsonGenerator g) throws IOException;
    }

    /** The bytes of one JSON document; {@code sizeHint} is the buffer's first size. */
    static byte[] write(int sizeHint, Document document) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(sizeHint);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            document.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in memory: it does not fail
        }
        return out.toByteArray();
    }
}
