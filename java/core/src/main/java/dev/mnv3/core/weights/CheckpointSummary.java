package dev.mnv3.core.weights;

import dev.mnv3.core.CheckpointLayout;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.graph.ParamSpec;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;

/**
 * What a checkpoint's names and shapes say about the network behind it: the naming layout, the
 * number of bottlenecks and the kind of SE layer. Shown when weights do not fit, so that a near
 * miss (another layout, another table, bias-free SE) is named rather than left to a list of
 * hundreds of tensors.
 *
 * @param se e.g. "SE as Linear without bias", or "no SE"
 */
record CheckpointSummary(CheckpointLayout names, int bottlenecks, String se) {

    /** The tensors of a file, read in the layout its names follow. */
    static CheckpointSummary of(CheckpointLayout names, Map<String, long[]> shapes) {
        Set<String> blocks = new HashSet<>();
        String se = "no SE";
        for (String n : new TreeMap<>(shapes).keySet()) {
            Matcher m = WeightNames.bottleneckName(names).matcher(n);
            if (m.find()) blocks.add(m.group(1));
            if (n.endsWith(WeightNames.seWeightSuffix(names)) && se.equals("no SE")) {
                String bias = n.substring(0, n.length() - "weight".length()) + "bias";
                se = "SE as " + (shapes.get(n).length == 2 ? "Linear" : "1x1 conv")
                        + (shapes.containsKey(bias) ? " with bias" : " without bias");
            }
        }
        return new CheckpointSummary(names, blocks.size(), se);
    }

    /** The tensors {@code graph} expects, under the names of {@code names}. */
    static CheckpointSummary of(CheckpointLayout names, Graph graph) {
        Map<String, String> source = WeightNames.sourceNames(names, graph);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (ParamSpec p : graph.parameters()) shapes.put(source.get(p.name()), Arrays.stream(p.shape()).asLongStream().toArray());
        return of(names, shapes);
    }

    String describe() {
        return names.describe() + " with " + bottlenecks + " bottlenecks and " + se;
    }
}
