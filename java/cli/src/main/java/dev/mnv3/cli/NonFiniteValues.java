package dev.mnv3.cli;

import dev.mnv3.core.tensor.Tensor;
import java.io.PrintWriter;
import java.util.Map;

/**
 * Says once when weights, an input or the results hold NaN or infinite values: the network then
 * answers NaN without failing, and "NaN%" alone does not say why.
 */
final class NonFiniteValues {
    private boolean warned;

    /** Warns (unless this command already did) when {@code tensors} hold non-finite values; {@code where} starts the line. */
    boolean check(PrintWriter err, String where, Map<String, Tensor> tensors) {
        if (warned) return true;
        long count = 0;
        String first = null;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            long n = e.getValue().countNonFinite();
            if (n > 0 && first == null) first = e.getKey();
            count += n;
        }
        if (count == 0) return false;
        Main.warn(err, String.format("%s %,d NaN or infinite value%s (the first in '%s'): the results are not numbers", where,
                count, count > 1 ? "s" : "", first));
        warned = true;
        return true;
    }
}
