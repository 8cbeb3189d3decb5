package dev.mnv3.cli;

import dev.mnv3.core.backend.CudnnMode;
import dev.mnv3.core.backend.Precision;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code mnv3 bench} measures: every combination of precision, CUDA graphs on/off, cuDNN
 * mode, clients and batch size, from the command's options or from {@code --sweep} groups, each
 * group a product of its own lists. Points that share a precision, a graphs setting and a cuDNN
 * mode share one compiled model, so a whole sweep runs in one process with one GPU start-up.
 */
final class BenchPoints {
    /** What a model is compiled with. */
    record Setting(Precision precision, boolean graphs, CudnnMode cudnn) {
        String describe() {
            return precision.name().toLowerCase(Locale.ROOT) + (graphs ? "" : " without CUDA graphs")
                    + (cudnn == CudnnMode.AUTO ? "" : ", cuDNN " + cudnn.lowerCase());
        }
    }

    /** One measurement. */
    record Point(Setting setting, int clients, int batch) {
    }

    /** The lists of one group. */
    record Group(List<Precision> precisions, List<Boolean> graphs, List<CudnnMode> cudnn, List<Integer> clients,
                 List<Integer> batches) {
        List<Point> points() {
            List<Point> out = new ArrayList<>();
            for (Precision p : precisions) {
                for (boolean g : graphs) {
                    for (CudnnMode d : cudnn) {
                        for (int c : clients) {
                            for (int b : batches) out.add(new Point(new Setting(p, g, d), c, b));
                        }
                    }
                }
            }
            return out;
        }
    }

    static final List<String> SWEEP_KEYS = List.of("precision", "graphs", "cudnn", "clients", "batch");

    private BenchPoints() {
    }

    /** The points of {@code sweeps} (each {@code "key=v[,v...] ..."}, unset keys from {@code defaults}), or of the defaults. */
    static List<Point> of(Group defaults, List<String> sweeps) {
        if (sweeps == null || sweeps.isEmpty()) return defaults.points();
        List<Point> out = new ArrayList<>();
        for (String sweep : sweeps) out.addAll(parse(sweep, defaults).points());
        return out;
    }

    static Group parse(String sweep, Group defaults) {
        Group g = defaults;
        if (sweep.isBlank()) throw new Main.UserError("--sweep needs at least one key=values, e.g. \"precision=fp16 batch=8,64\"");
        for (String item : sweep.trim().split("\\s+")) {
            int eq = item.indexOf('=');
            if (eq <= 0 || eq == item.length() - 1) {
                throw new Main.UserError("--sweep: '" + item + "' is not key=value[,value...] (keys: " + String.join(", ", SWEEP_KEYS) + ")");
            }
            String key = item.substring(0, eq), values = item.substring(eq + 1);
            g = switch (key) {
                case "precision" -> new Group(precisions(values), g.graphs(), g.cudnn(), g.clients(), g.batches());
                case "graphs" -> new Group(g.precisions(), graphs(values), g.cudnn(), g.clients(), g.batches());
                case "cudnn" -> new Group(g.precisions(), g.graphs(), cudnn(values), g.clients(), g.batches());
                case "clients" -> new Group(g.precisions(), g.graphs(), g.cudnn(), ints("clients", values), g.batches());
                case "batch" -> new Group(g.precisions(), g.graphs(), g.cudnn(), g.clients(), ints("batch", values));
                default -> throw new Main.UserError("--sweep: unknown key '" + key + "' (keys: " + String.join(", ", SWEEP_KEYS) + ")");
            };
        }
        return g;
    }

    static List<Precision> precisions(String values) {
        List<Precision> out = new ArrayList<>();
        for (String v : split(values)) out.add(Precision.parse(v));
        return List.copyOf(out);
    }

    static List<CudnnMode> cudnn(String values) {
        List<CudnnMode> out = new ArrayList<>();
        for (String v : split(values)) out.add(CudnnMode.parse(v));
        return List.copyOf(out);
    }

    static List<Boolean> graphs(String values) {
        List<Boolean> out = new ArrayList<>();
        for (String v : split(values)) {
            out.add(switch (v.toLowerCase(Locale.ROOT)) {
                case "on" -> true;
                case "off" -> false;
                default -> throw new Main.UserError("CUDA graphs must be on or off, got '" + v + "'");
            });
        }
        return List.copyOf(out);
    }

    static List<Integer> ints(String what, String values) {
        List<Integer> out = new ArrayList<>();
        for (String v : split(values)) {
            try {
                out.add(Integer.parseInt(v));
            } catch (NumberFormatException e) {
                throw new Main.UserError("--sweep: " + what + " must be whole numbers, got '" + v + "'");
            }
        }
        return List.copyOf(out);
    }

    private static List<String> split(String values) {
        List<String> out = new ArrayList<>();
        for (String v : values.split(",")) {
            if (!v.isBlank()) out.add(v.trim());
        }
        if (out.isEmpty()) throw new Main.UserError("an empty list: '" + values + "'");
        return out;
    }

    /** The points grouped by the model they need, in the order first needed. */
    static Map<Setting, List<Point>> bySetting(List<Point> points) {
        Map<Setting, List<Point>> out = new LinkedHashMap<>();
        for (Point p : points) out.computeIfAbsent(p.setting(), s -> new ArrayList<>()).add(p);
        return out;
    }
}
