package dev.mnv3.spark;

import dev.mnv3.core.image.ImageSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.file.Path;
import org.apache.spark.sql.Row;

/**
 * Where a row's image is: a column of paths (local paths, {@code file:} URIs, or any URI Hadoop
 * reads: {@code hdfs://}, {@code s3a://}), or a column of encoded bytes with a column naming them
 * (Spark's {@code binaryFile} source: {@code content} and {@code path}).
 */
record ImageColumn(int column, int nameColumn, boolean bytes) implements Serializable {
    static ImageColumn paths(int column) {
        return new ImageColumn(column, column, false);
    }

    static ImageColumn bytes(int column, int nameColumn) {
        return new ImageColumn(column, nameColumn, true);
    }

    /** How results and errors name the row's image. */
    String name(Row row) {
        Object n = row.get(nameColumn);
        return n == null ? "(no name)" : n.toString();
    }

    /** The row's image; a missing one is an error when it is decoded (or read here, for a path Hadoop reads). */
    ImageSource source(Row row) throws IOException {
        if (bytes) {
            byte[] data = row.isNullAt(column) ? null : (byte[]) row.get(column);
            if (data == null) throw new IOException(name(row) + ": no image bytes (null)");
            return ImageSource.of(name(row), data);
        }
        String path = row.isNullAt(column) ? null : row.get(column).toString();
        if (path == null) throw new IOException("no image path (null)");
        int colon = path.indexOf(':');
        boolean uri = colon > 1 && path.startsWith("//", colon + 1) || path.startsWith("file:");
        if (!uri) return ImageSource.of(Path.of(path));
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path); // as Hadoop lists it: spaces and '%' unescaped
        if (path.startsWith("file:")) return ImageSource.of(Path.of(p.toUri()));
        try (InputStream in = p.getFileSystem(new org.apache.hadoop.conf.Configuration()).open(p)) {
            return ImageSource.of(path, in.readAllBytes());
        }
    }
}
