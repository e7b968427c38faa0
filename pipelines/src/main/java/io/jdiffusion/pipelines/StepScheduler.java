package io.jdiffusion.pipelines;

/** A diffusers scheduler as the loop drives it, on host latents. */
public interface StepScheduler {
    void setTimesteps(int steps);

    /** The schedule after setTimesteps, as float timesteps. */
    float[] timesteps();

    float initNoiseSigma();

    void setBeginIndex(int index);

    float[] scaleModelInput(float[] sample, float t);

    float[] step(float[] modelOutput, float t, float[] sample, NoiseSource generator);

    float[] addNoise(float[] original, float[] noise, float t);

    /** 1 for first-order schedulers, 2 for second-order ones (Heun). */
    default int order() { return 1; }

    /** The config's num_train_timesteps. */
    int numTrainTimesteps();

    /** A short name for records: "EulerDiscreteScheduler". */
    String name();
}
