package dev.mnv3.serve;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.Weights;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The model instances the batcher's workers run batches on, one per worker. On the CPU each is a
 * model of its own with its share of the threads (a worker group); the CUDA backend runs
 * concurrent calls of one model on separate streams (lanes) already, so there every worker calls
 * the same model and the weights are on the GPU once.
 */
public final class ModelInstances implements AutoCloseable {
    private final List<CompiledModel> distinct;
    private final List<CompiledModel> perWorker;

    private ModelInstances(List<CompiledModel> distinct, List<CompiledModel> perWorker) {
        this.distinct = List.copyOf(distinct);
        this.perWorker = List.copyOf(perWorker);
    }

    /** Whether one model of this backend serves concurrent calls by itself (the CUDA backend's lanes). */
    public static boolean sharesOneModel(Backend backend) {
        return backend.concurrentCalls();
    }

    /**
     * {@code count} instances of the graph on {@code backend}. CPU threads ({@code options}, 0: all
     * processors) are split evenly between CPU instances, at least one each.
     */
    public static ModelInstances compile(Backend backend, Graph graph, Weights weights, CompileOptions options, int count) {
        if (count < 1) throw new IllegalArgumentException("need at least one model instance, got " + count);
        if (sharesOneModel(backend)) {
            CompiledModel m = backend.compile(graph, weights, options);
            return new ModelInstances(List.of(m), Collections.nCopies(count, m));
        }
        CompileOptions each = options.withThreads(Math.max(1, options.resolvedThreads() / count));
        List<CompiledModel> models = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) models.add(backend.compile(graph, weights, each));
        } catch (RuntimeException e) {
            models.forEach(CompiledModel::close);
            throw e;
        }
        return new ModelInstances(models, models);
    }

    /** Instances compiled elsewhere, one per worker (tests pass their own). */
    public static ModelInstances of(List<? extends CompiledModel> perWorker) {
        List<CompiledModel> distinct = new ArrayList<>();
        for (CompiledModel m : perWorker) if (!distinct.contains(m)) distinct.add(m);
        return new ModelInstances(distinct, new ArrayList<>(perWorker));
    }

    public List<CompiledModel> perWorker() {
        return perWorker;
    }

    public int count() {
        return perWorker.size();
    }

    /** The backend's name, e.g. cpu or cuda. */
    public String backend() {
        return perWorker.getFirst().backend();
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (CompiledModel m : distinct) {
            try {
                m.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
