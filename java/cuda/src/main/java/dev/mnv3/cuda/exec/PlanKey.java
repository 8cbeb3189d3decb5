package dev.mnv3.cuda.exec;

import dev.mnv3.cuda.plan.ForwardPlan;

/** A plan's identity: the network input's shape and how the caller's input becomes it. */
public record PlanKey(int batch, int height, int width, ForwardPlan.InputSpec spec) {
}
