package io.jdiffusion.tensor.weights;

import java.util.List;

/** Weights that do not fit the model built from its config: every problem, by key. */
public final class WeightException extends RuntimeException {
    private final List<String> problems;

    public WeightException(String model, List<String> problems) {
        // the list is cut after 20 and names are escaped: keys come from the file and may hold anything
        super(io.jdiffusion.tensor.ErrorText.escape(model) + ": " + problems.size() + " weight problem(s):\n  "
                + io.jdiffusion.tensor.ErrorText.list(problems, "\n  "));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() { return problems; }
}
