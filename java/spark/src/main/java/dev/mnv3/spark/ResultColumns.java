package dev.mnv3.spark;

import dev.mnv3.api.Classification;
import dev.mnv3.api.Classifications;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The columns a job adds to each image's row, and their values:
 * <ul>
 *   <li>{@code top}: the {@code top} most probable classes, {@code array<struct<class int, label string, probability float>>}
 *       (softmax of the logits, as {@code mnv3 classify} reports them); absent when {@code top} is 0;</li>
 *   <li>{@code logits}: {@code array<float>}, the classifier's outputs;</li>
 *   <li>{@code features}: {@code array<float>}, the pooled features (the global average pool before the classifier: an embedding);</li>
 *   <li>{@code error}: null for an image that was run, else why it was not (then the other columns are null).</li>
 * </ul>
 */
record ResultColumns(int top, boolean logits, boolean features) implements Serializable {
    static final String TOP = "top", LOGITS = "logits", FEATURES = "features", ERROR = "error";

    ResultColumns {
        if (top < 0) throw new IllegalArgumentException("top must be >= 0, got " + top);
    }

    static final StructType CLASS = new StructType(new StructField[] {
            DataTypes.createStructField("class", DataTypes.IntegerType, false),
            DataTypes.createStructField("label", DataTypes.StringType, false),
            DataTypes.createStructField("probability", DataTypes.FloatType, false)});

    /** {@code input} followed by the result columns; a name already in {@code input} is refused. */
    StructType appendTo(StructType input) {
        List<StructField> fields = new ArrayList<>(Arrays.asList(input.fields()));
        for (StructField f : fields()) {
            if (Arrays.asList(input.fieldNames()).contains(f.name())) {
                throw new IllegalArgumentException("the input already has a column named '" + f.name() + "', which the results would add");
            }
            fields.add(f);
        }
        return new StructType(fields.toArray(StructField[]::new));
    }

    List<StructField> fields() {
        List<StructField> f = new ArrayList<>();
        if (top > 0) f.add(DataTypes.createStructField(TOP, DataTypes.createArrayType(CLASS, false), true));
        if (logits) f.add(DataTypes.createStructField(LOGITS, DataTypes.createArrayType(DataTypes.FloatType, false), true));
        if (features) f.add(DataTypes.createStructField(FEATURES, DataTypes.createArrayType(DataTypes.FloatType, false), true));
        f.add(DataTypes.createStructField(ERROR, DataTypes.StringType, true));
        return f;
    }

    /** The row of an image that ran: {@code input}'s values, then the results from its logits (and pooled features). */
    Row ran(Row input, float[] logitsRows, int row, int classes, float[] featureRows, int featureWidth) {
        List<Object> v = values(input);
        if (top > 0) v.add(topClasses(logitsRows, row * classes, classes, top).toArray(Row[]::new)); // an array: Spark takes no java.util.List
        if (logits) v.add(Arrays.copyOfRange(logitsRows, row * classes, (row + 1) * classes));
        if (features) v.add(Arrays.copyOfRange(featureRows, row * featureWidth, (row + 1) * featureWidth));
        v.add(null);
        return RowFactory.create(v.toArray());
    }

    /** The row of an image that did not run: {@code input}'s values, null results and the error. */
    Row failed(Row input, String error) {
        List<Object> v = values(input);
        for (int i = 0; i < fields().size() - 1; i++) v.add(null);
        v.add(error);
        return RowFactory.create(v.toArray());
    }

    private static List<Object> values(Row input) {
        List<Object> v = new ArrayList<>(input.size() + 4);
        for (int i = 0; i < input.size(); i++) v.add(input.get(i));
        return v;
    }

    /** The {@code top} most probable classes of one image's logits, most probable first, as {@code mnv3 classify} reports them. */
    static List<Row> topClasses(float[] logits, int from, int classes, int top) {
        List<Row> out = new ArrayList<>();
        for (Classification c : Classifications.ofLogits("", logits, from, Classifications.labelsFor(classes), List.of()).topK(top)) {
            out.add(RowFactory.create(c.index(), c.label(), (float) c.probability())); // a float probability widened: exact back
        }
        return out;
    }
}
