package dev.mnv3.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.mnv3.core.backend.Backend;
import dev.mnv3.core.backend.CompileOptions;
import dev.mnv3.core.backend.CompiledModel;
import dev.mnv3.core.graph.Graph;
import dev.mnv3.core.weights.Weights;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Serve asks a backend what it can do, never its name: a fake backend with a capability gets the behaviour. */
class BackendCapabilitiesTest {
    /** A backend called "fake" that says it runs concurrent calls, or not. */
    private record Fake(boolean concurrentCalls) implements Backend {
        @Override
        public String name() {
            return "fake";
        }

        @Override
        public CompiledModel compile(Graph graph, Weights weights, CompileOptions options) {
            return new FakeModel();
        }
    }

    @Test
    void aBackendRunningConcurrentCallsSharesOneModelBetweenWorkers() {
        try (ModelInstances shared = ModelInstances.compile(new Fake(true), FakeModel.GRAPH, null, CompileOptions.defaults(), 3);
             ModelInstances own = ModelInstances.compile(new Fake(false), FakeModel.GRAPH, null, CompileOptions.defaults(), 3)) {
            List<CompiledModel> s = shared.perWorker(), o = own.perWorker();
            assertEquals(3, s.size());
            assertSame(s.get(0), s.get(2));
            assertEquals(3, o.size());
            assertNotSame(o.get(0), o.get(1));
            assertNotSame(o.get(1), o.get(2));
        }
    }

    @Test
    void theInstanceKindIsAskedOfTheBackend() {
        assertEquals("KIND_GPU", ModelConfiguration.instanceKind("cuda")); // a device backend, GPU here or not
        assertEquals("KIND_CPU", ModelConfiguration.instanceKind("cpu"));
        assertEquals("KIND_CPU", ModelConfiguration.instanceKind("fake")); // not registered
    }
}
