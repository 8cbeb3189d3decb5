package dev.mnv3.cli;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The library's messages name its fields and methods ({@code set CompileOptions.precision to
 * FP32}), which mean nothing to a CLI user: here they become the flags that set them.
 */
final class LibraryTerms {
    private record Rule(Pattern pattern, Function<MatchResult, String> flag) {
    }

    private static final List<Rule> RULES = List.of(
            rule("set MobileNetV3Config\\.numClasses to (\\d+)", m -> "try --classes " + m.group(1)),
            rule("set MobileNetV3Config\\.bnEps", m -> "--bn-eps"),
            rule("set CompileOptions\\.precision to (\\w+) or (\\w+)", m -> "use --precision " + lower(m, 1) + " or " + lower(m, 2)),
            rule("CompileOptions\\.threads", m -> "--threads"),
            rule("CpuSettings\\.scalar", m -> "--cpu-kernels scalar"),
            rule("CpuSettings\\.stack", m -> "-D" + dev.mnv3.core.backend.CpuSettings.STACK_PROPERTY),
            rule("CudaSettings\\.cudnn (?:is )?(AUTO|OFF|ON)", m -> "--cudnn " + lower(m, 1)),
            rule("CudaSettings\\.(depthwise|pointwise|stem) is (\\w+)", m -> "--conv-kernels " + m.group(1) + "=" + lower(m, 2)),
            rule("CudaSettings\\.streams", m -> "--cuda-streams"),
            rule("CudaSettings\\.device", m -> "--device"),
            rule("the (cpu-reference|cpu|cuda) backend", m -> "--backend " + m.group(1)),
            rule("as the checkpoint key", m -> "with --checkpoint-key"),
            rule("the checkpoint key", m -> "--checkpoint-key"));

    private LibraryTerms() {
    }

    private static Rule rule(String regex, Function<MatchResult, String> flag) {
        return new Rule(Pattern.compile(regex), flag);
    }

    private static String lower(MatchResult m, int group) {
        return m.group(group).toLowerCase(Locale.ROOT);
    }

    /** {@code message} with each library term replaced by its flag. */
    static String inFlags(String message) {
        if (message == null) return null;
        String out = message;
        for (Rule r : RULES) {
            Matcher m = r.pattern().matcher(out);
            out = m.replaceAll(match -> Matcher.quoteReplacement(r.flag().apply(match)));
        }
        return out;
    }
}
