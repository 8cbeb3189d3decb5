package dev.mnv3.serve.rest;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.mnv3.core.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The REST endpoint's JSON: mnv3's one Jackson factory ({@link Json#factory()}), and how its documents are written. */
final class RestJson {
    static final JsonFactory FACTORY = Json.factory();

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
