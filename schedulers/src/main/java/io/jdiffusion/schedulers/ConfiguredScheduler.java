package io.jdiffusion.schedulers;

/**
 * What every scheduler here reads from its config the same way diffusers does: the training tables,
 * {@code prediction_type}, {@code timestep_spacing} and {@code steps_offset}; and the checks they share.
 */
abstract class ConfiguredScheduler implements Scheduler {
    protected final SchedulerConfig config;
    protected final TrainingSchedule train;
    protected final String predictionType;
    protected final String timestepSpacing;
    protected final int stepsOffset;

    /** {@code defaultSpacing}: diffusers' default {@code timestep_spacing} of the class; {@code predictionTypes}: those it supports. */
    ConfiguredScheduler(SchedulerConfig config, boolean fixTerminalSnr, String defaultSpacing, String... predictionTypes) {
        this.config = config;
        this.train = TrainingSchedule.of(config, fixTerminalSnr);
        this.predictionType = SchedulerConfig.oneOf("prediction_type",
                SchedulerConfig.or(config.predictionType(), "epsilon"), predictionTypes);
        this.timestepSpacing = SchedulerConfig.oneOf("timestep_spacing",
                SchedulerConfig.or(config.timestepSpacing(), defaultSpacing), "linspace", "leading", "trailing");
        this.stepsOffset = SchedulerConfig.or(config.stepsOffset(), 0);
    }

    @Override public SchedulerConfig config() { return config; }
    @Override public int order() { return 1; }
    @Override public int numTrainTimesteps() { return train.numTrainTimesteps; }

    protected void checkStepCount(int n) {
        if (n < 1 || n > train.numTrainTimesteps) {
            throw new IllegalArgumentException("numInferenceSteps must be between 1 and num_train_timesteps ("
                    + train.numTrainTimesteps + "), got " + n);
        }
    }

    /**
     * The timesteps of {@code n} steps spaced per {@code timestep_spacing} as diffusers' numpy code does,
     * largest first ("leading": multiples of {@code T // n} plus {@code steps_offset}; "trailing":
     * {@code round(arange(T, 0, −T/n)) − 1}; "linspace": {@code linspace(0, T−1, n)}, not rounded).
     */
    protected double[] spacedTimesteps(int n) {
        int numTrain = train.numTrainTimesteps;
        double[] ts;
        switch (timestepSpacing) {
            case "linspace" -> {
                double[] l = TorchMath.npLinspace(0, numTrain - 1, n);
                ts = new double[n];
                for (int i = 0; i < n; i++) ts[i] = l[n - 1 - i];
            }
            case "leading" -> {
                int ratio = numTrain / n;
                ts = new double[n];
                for (int i = 0; i < n; i++) ts[i] = (double) (n - 1 - i) * ratio + stepsOffset;
            }
            default -> {
                double[] a = TorchMath.npArange(numTrain, 0, -((double) numTrain / n));
                ts = new double[a.length];
                for (int i = 0; i < a.length; i++) ts[i] = Math.rint(a[i]) - 1;
            }
        }
        return ts;
    }

    /** The timesteps set by setTimesteps; refused before it was called. */
    protected <T> T scheduled(T timesteps) {
        if (timesteps == null) {
            throw new IllegalStateException(getClass().getSimpleName() + ": call setTimesteps before using the schedule");
        }
        return timesteps;
    }

    protected static void checkSameLength(String a, float[] x, String b, float[] y) {
        if (x.length != y.length) {
            throw new IllegalArgumentException(a + " has " + x.length + " values but " + b + " has " + y.length);
        }
    }
}
