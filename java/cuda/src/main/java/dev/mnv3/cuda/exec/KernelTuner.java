package dev.mnv3.cuda.exec;

import dev.mnv3.core.graph.ConvBnAct;
import dev.mnv3.cuda.ffi.CudaDriver;
import dev.mnv3.cuda.plan.ForwardPlan;
import dev.mnv3.cuda.plan.ForwardPlan.Conv;
import dev.mnv3.cuda.plan.KernelChoice;
import dev.mnv3.cuda.plan.KernelChoice.Impl;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The decisions a plan needs the device for, made on the lane's stream when the plan is built:
 * each cuDNN conv's algorithm ({@link ConvAlgorithm}, the fastest candidate), and, for every conv
 * both can run, ours or cuDNN ({@link KernelChoice}: fixed by its mode, or timed once per shape
 * in the process when auto). Both are shared with every later lane, plan and model through
 * {@link Tuning}. It times the steps of two lowerings of the same shape, one with every conv ours
 * and one with every conv cuDNN can run on cuDNN, on the memory of the plan being built.
 */
final class KernelTuner {
    private static final System.Logger LOG = System.getLogger(KernelTuner.class.getName());

    private final ModelResources model;
    private final CudaDriver driver;
    private final Lane lane;

    KernelTuner(Lane lane) {
        this.lane = lane;
        this.model = lane.shared;
        this.driver = model.runtime().driver;
    }

    /** Times every candidate algorithm of the convs whose algorithm no lane has chosen yet, and keeps the fastest. */
    void chooseAlgorithms(Map<ConvBnAct, CudnnConv> convs, Map<ConvBnAct, Conv> cudnnSteps, StepLaunches launches) {
        for (Map.Entry<ConvBnAct, CudnnConv> e : convs.entrySet()) {
            CudnnConv cc = e.getValue();
            model.decisions().add(Tuning.algorithmNote(cc.key));
            if (cc.candidates.size() == 1) continue; // chosen before, or nothing to choose
            ConvAlgorithm.Choice known = model.algorithms().get(cc.key);
            if (known == null) {
                StepLaunches.Launch forward = launches.cudnnForward(cudnnSteps.get(e.getKey()));
                double[] ms = new double[cc.candidates.size()];
                for (int i = 0; i < ms.length; i++) {
                    cc.use(cc.candidates.get(i));
                    ms[i] = EventTimer.millisOrNaN(driver, lane.stream, e.getKey().name(), "cuDNN algorithm " + cc.candidates.get(i),
                            forward::enqueue);
                }
                ConvAlgorithm.Choice best = ConvAlgorithm.fastest(cc.candidates, ms);
                known = model.algorithms().putIfAbsent(cc.key, best);
                if (known == null) {
                    known = best;
                    note(Tuning.algorithmNote(cc.key), String.format(Locale.ROOT, "%-22s cuDNN algorithm %d (math %d) of %d timed, %.4f ms",
                            e.getKey().name(), best.algo(), best.mathType(), ms.length, ms[cc.candidates.indexOf(best)]));
                }
            }
            cc.use(known);
        }
    }

    /**
     * Who runs each conv: ours where cuDNN has no descriptors for it ({@code convs} lacks it), cuDNN
     * where ours cannot (the all-ours lowering still gives it to cuDNN), else its mode, timing both
     * when auto. {@code oursPlan} and {@code cudnnPlan} are the two lowerings, {@code launches}
     * compiled over this plan's memory with {@code convs}.
     */
    KernelChoice.Selection choose(ForwardPlan oursPlan, ForwardPlan cudnnPlan, Map<ConvBnAct, CudnnConv> convs,
                                  StepLaunches launches) {
        Map<ConvBnAct, Conv> ours = convSteps(oursPlan), theirs = convSteps(cudnnPlan);
        Map<ConvBnAct, Impl> chosen = new IdentityHashMap<>();
        for (Map.Entry<ConvBnAct, Conv> e : theirs.entrySet()) {
            ConvBnAct c = e.getKey();
            Impl impl;
            if (!convs.containsKey(c)) impl = Impl.OURS; // no cuDNN, told to, an SE depthwise of a 16-bit plan, or it could not
            else if (!ours.get(c).ours()) impl = Impl.CUDNN;
            else impl = switch (model.settings().kernelsFor(c)) {
                case OURS -> Impl.OURS;
                case CUDNN -> Impl.CUDNN;
                case AUTO -> {
                    ConvAlgorithm.Key key = ConvAlgorithm.Key.of(c, e.getValue().in(), model.precision());
                    model.decisions().add(key);
                    yield model.choices().computeIfAbsent(key, k -> measure(ours.get(c), e.getValue(), cudnnPlan, k, launches));
                }
            };
            chosen.put(c, impl);
        }
        return c -> chosen.getOrDefault(c, Impl.OURS);
    }

    /** Times ours against cuDNN on one conv; ours is preferred where it is the more exact (depthwise: one rounding; stem: float input). */
    private Impl measure(Conv ours, Conv theirs, ForwardPlan cudnnPlan, ConvAlgorithm.Key key, StepLaunches launches) {
        ConvBnAct k = ours.conv();
        String layer = k.name();
        StepLaunches.Launch oursLaunch = launches.of(ours), cudnnLaunch = launches.of(theirs);
        // cuDNN's NHWC stem needs the converted input: its conversion counts against it
        StepLaunches.Launch convert = ours.in() != theirs.in() ? cudnnPlan.steps().stream()
                .filter(s -> s instanceof ForwardPlan.ToNhwc).findFirst().map(launches::of).orElse(null) : null;
        double oursMs = EventTimer.millisOrNaN(driver, lane.stream, layer, "ours", oursLaunch::enqueue);
        double cudnnMs = EventTimer.millisOrNaN(driver, lane.stream, layer, "cuDNN", args -> {
            if (convert != null) convert.enqueue(args);
            cudnnLaunch.enqueue(args);
        });
        Impl preferred = k.isDepthwise() || !k.isPointwise() ? Impl.OURS : Impl.CUDNN;
        Impl impl = KernelChoice.faster(preferred, oursMs, cudnnMs);
        ForwardPlan.Ref in = ours.in();
        note(key, String.format(Locale.ROOT, "%-22s %-9s %dx%dx%dx%d -> %d: ours %.4f ms, cuDNN %.4f ms: %s", k.name(),
                k.isDepthwise() ? "depthwise" : k.isPointwise() ? "1x1" : k.kernel() + "x" + k.kernel(), in.n(), in.c(), in.h(),
                in.w(), ours.out().c(), oursMs, cudnnMs, impl.name().toLowerCase(Locale.ROOT)));
        return impl;
    }

    /** Records how a decision was made, for {@code CudaModel.kernelChoices()} (once per process and key). */
    private void note(Object key, String note) {
        model.runtime().tuning.notes.putIfAbsent(key, note);
        LOG.log(System.Logger.Level.DEBUG, note);
    }

    static Map<ConvBnAct, Conv> convSteps(ForwardPlan plan) {
        Map<ConvBnAct, Conv> m = new LinkedHashMap<>();
        for (ForwardPlan.Step s : plan.steps()) {
            if (s instanceof Conv c) m.put(c.conv(), c);
        }
        return m;
    }
}
