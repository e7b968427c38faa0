package io.jdiffusion.tensor.weights;

import java.util.List;

/** Weights that do not fit the model built from its config: every problem, by key. */
public final class WeightException extends RuntimeException {
    private final List<String> problems;

    public WeightException(String model, List<String> problems) {
        super(model + ": " + problems.size() + " weight problem(s):\n  " + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() { return problems; }
}
