package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;

import java.util.List;
import java.util.function.UnaryOperator;

/**
 * What both CLIP text models are made of: the transformer tower, the backend it runs on, and the
 * weight files the model owns (null when built on a caller's parameters).
 */
record ClipTower(CLIPTextTransformer model, Backend backend, AutoCloseable weights) implements AutoCloseable {

    /** Runs the tower (then {@code head}, e.g. a projection) in a scope, keeping only the outputs. */
    CLIPTextOutput forward(int[][] inputIds, boolean outputHiddenStates, UnaryOperator<CLIPTextOutput> head) {
        if (backend == null) throw new IllegalStateException("this model was built without weights (shapes only)");
        try (Backend.Scope scope = backend.openScope()) {
            CLIPTextOutput o = head.apply(model.forward(inputIds, outputHiddenStates));
            List<Tensor> hidden = o.hiddenStates() == null ? null : o.hiddenStates().stream().map(scope::keep).toList();
            return new CLIPTextOutput(scope.keep(o.lastHiddenState()), scope.keep(o.pooledOutput()), hidden,
                    o.textEmbeds() == null ? null : scope.keep(o.textEmbeds()));
        }
    }

    @Override
    public void close() {
        if (weights != null) {
            try {
                weights.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing the weights of " + this, e);
            }
        }
    }
}
