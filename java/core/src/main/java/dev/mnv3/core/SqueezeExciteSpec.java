package dev.mnv3.core;

import java.util.Locale;
import java.util.Map;

/**
 * How a network builds its squeeze-excitation modules: what the two FCs are, whether they have
 * biases, and how wide the squeeze is. torchvision uses 1x1 convs with bias and a squeeze of
 * make_divisible(exp / 4, 8); many community implementations use bias-free {@code nn.Linear}
 * layers and a squeeze of exp / 4. Both run ReLU between the FCs and hard-sigmoid after them.
 *
 * @param layer   {@link Layer#CONV}: weights [out, in, 1, 1]; {@link Layer#LINEAR}: weights [out, in]
 * @param bias    whether both FCs carry a bias
 * @param divisor the squeeze width is exp / divisor, rounded down
 * @param roundTo then rounded to the nearest multiple of roundTo as {@link MobileNetV3Config#makeDivisible} does
 *                (1: left as it is)
 */
public record SqueezeExciteSpec(Layer layer, boolean bias, int divisor, int roundTo) implements java.io.Serializable {

    public enum Layer { CONV, LINEAR }

    /** torchvision's SqueezeExcitation: 1x1 convs with bias, make_divisible(exp // 4, 8). */
    public static final SqueezeExciteSpec TORCHVISION = new SqueezeExciteSpec(Layer.CONV, true, 4, 8);

    public SqueezeExciteSpec {
        if (layer == null) {
            throw new IllegalArgumentException("the SE layer type is required (conv or linear)");
        }
        if (divisor < 1 || roundTo < 1) {
            throw new IllegalArgumentException("SE divisor and round_to must be >= 1, got " + divisor + " and " + roundTo);
        }
    }

    /** The squeeze width of an SE module over {@code channels} channels. */
    public int squeezeChannels(int channels) {
        int squeeze = channels / divisor;
        if (squeeze < 1) {
            throw new IllegalArgumentException("SE over " + channels + " channels with divisor " + divisor
                    + " would squeeze to 0 channels");
        }
        return roundTo == 1 ? squeeze : MobileNetV3Config.makeDivisible(squeeze, roundTo);
    }

    /** E.g. {@code Linear without bias, exp/4} or {@code 1x1 conv with bias, exp/4 rounded to 8}. */
    public String describe() {
        return (layer == Layer.CONV ? "1x1 conv" : "Linear") + (bias ? " with bias" : " without bias") + ", exp/" + divisor
                + (roundTo > 1 ? " rounded to " + roundTo : "");
    }

    /**
     * Reads {@code {"layer": "conv"|"linear", "bias": true|false, "divisor": 4, "round_to": 8}};
     * a missing field keeps torchvision's value.
     */
    static SqueezeExciteSpec fromJson(Object json, String where) {
        Map<String, Object> m = Json.object(json, where);
        Json.checkKeys(m, where, "layer", "bias", "divisor", "round_to");
        Layer layer = TORCHVISION.layer;
        if (m.containsKey("layer")) {
            String s = Json.string(m.get("layer"), where + ".layer");
            layer = switch (s.toLowerCase(Locale.ROOT)) {
                case "conv" -> Layer.CONV;
                case "linear" -> Layer.LINEAR;
                default -> throw new IllegalArgumentException(where + ".layer must be \"conv\" or \"linear\", got \"" + s + "\"");
            };
        }
        boolean bias = m.containsKey("bias") ? Json.bool(m.get("bias"), where + ".bias") : TORCHVISION.bias;
        int divisor = m.containsKey("divisor") ? Json.intValue(m.get("divisor"), where + ".divisor") : TORCHVISION.divisor;
        int roundTo = m.containsKey("round_to") ? Json.intValue(m.get("round_to"), where + ".round_to") : TORCHVISION.roundTo;
        try {
            return new SqueezeExciteSpec(layer, bias, divisor, roundTo);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }
}
