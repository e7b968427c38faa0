package io.jdiffusion.schedulers;

/**
 * diffusers' {@code DPMSolverMultistepScheduler} with {@code algorithm_type="dpmsolver++"} — "DPM++ 2M"
 * (and "DPM++ 2M Karras" with {@code use_karras_sigmas}), spec §6.5.
 *
 * <p>Supports {@code solver_order} 1–3, {@code solver_type} midpoint/heun, {@code lower_order_final},
 * {@code euler_at_final}, {@code final_sigmas_type} zero/sigma_min, {@code lambda_min_clipped},
 * {@code use_karras_sigmas}, the three spacings and {@code prediction_type} epsilon/v_prediction/sample.
 * Timesteps are integers; {@code init_noise_sigma} is 1 and the model input is not scaled. The solver
 * works on data predictions x0 = (x − σ_t·ε)/α_t, keeping the last {@code solver_order} of them.
 */
public final class DPMSolverMultistepScheduler extends SigmaScheduler {
    private final int solverOrder;
    private final String solverType;
    private final boolean lowerOrderFinal;
    private final boolean eulerAtFinal;
    private final boolean useKarrasSigmas;
    private final String finalSigmasType;
    private final double lambdaMinClipped;

    private float[][] modelOutputs;
    private int lowerOrderNums;

    public DPMSolverMultistepScheduler(SchedulerConfig config) {
        super(config, true, "epsilon", "v_prediction", "sample");
        String algorithm = SchedulerConfig.or(config.algorithmType(), "dpmsolver++");
        if (algorithm.equals("deis")) algorithm = "dpmsolver++"; // diffusers maps it the same way
        SchedulerConfig.oneOf("algorithm_type", algorithm, "dpmsolver++");
        this.solverOrder = SchedulerConfig.or(config.solverOrder(), 2);
        if (solverOrder < 1 || solverOrder > 3) {
            throw new IllegalArgumentException("solver_order must be 1, 2 or 3, got " + solverOrder);
        }
        String st = SchedulerConfig.or(config.solverType(), "midpoint");
        if (st.equals("logrho") || st.equals("bh1") || st.equals("bh2")) st = "midpoint"; // as diffusers
        this.solverType = SchedulerConfig.oneOf("solver_type", st, "midpoint", "heun");
        this.lowerOrderFinal = SchedulerConfig.or(config.lowerOrderFinal(), true);
        this.eulerAtFinal = SchedulerConfig.or(config.eulerAtFinal(), false);
        this.useKarrasSigmas = SchedulerConfig.or(config.useKarrasSigmas(), false);
        if (Boolean.TRUE.equals(config.useLuLambdas()) || Boolean.TRUE.equals(config.useExponentialSigmas())
                || Boolean.TRUE.equals(config.useBetaSigmas())) {
            throw new IllegalArgumentException("use_lu_lambdas / use_exponential_sigmas / use_beta_sigmas are not supported; "
                    + "allowed sigma schedules: interpolated (default) or use_karras_sigmas");
        }
        this.finalSigmasType = SchedulerConfig.oneOf("final_sigmas_type",
                SchedulerConfig.or(config.finalSigmasType(), "zero"), "zero", "sigma_min");
        this.lambdaMinClipped = SchedulerConfig.or(config.lambdaMinClipped(), Double.NEGATIVE_INFINITY);
        if (config.varianceType() != null) {
            throw new IllegalArgumentException("variance_type '" + config.varianceType()
                    + "' is not supported; allowed values: null (the model predicts no variance)");
        }
        if (Boolean.TRUE.equals(config.thresholding())) {
            throw new IllegalArgumentException("thresholding=true is not supported; allowed values: false");
        }
    }

    @Override
    public void setTimesteps(int n) {
        checkStepCount(n);
        int numTrain = train.numTrainTimesteps;
        float[] ac = train.alphasCumprod;
        // lambda_min_clipped: drop the tail of training timesteps whose log-SNR is below the clip.
        int clippedIdx = 0;
        for (int i = numTrain - 1; i >= 0; i--) {
            float alphaT = (float) Math.sqrt(ac[i]);
            float sigmaT = (float) Math.sqrt(1f - ac[i]);
            float lambda = (float) Math.log(alphaT) - (float) Math.log(sigmaT);
            if (lambda < lambdaMinClipped) clippedIdx++;
            else break;
        }
        int lastTimestep = numTrain - clippedIdx;
        double[] ts;
        switch (timestepSpacing) {
            case "linspace" -> {
                double[] l = TorchMath.npLinspace(0, lastTimestep - 1, n + 1);
                ts = new double[n];
                for (int i = 0; i < n; i++) ts[i] = Math.rint(l[n - i]);
            }
            case "leading" -> {
                int ratio = lastTimestep / (n + 1);
                ts = new double[n];
                for (int i = 0; i < n; i++) ts[i] = (double) (n - i) * ratio + stepsOffset;
            }
            default -> {
                double[] a = TorchMath.npArange(lastTimestep, 0, -((double) numTrain / n));
                ts = new double[a.length];
                for (int i = 0; i < a.length; i++) ts[i] = Math.rint(a[i]) - 1;
            }
        }
        float[] trainSigmas = train.sigmas();
        float[] logSigmas = TorchMath.logF32(trainSigmas);
        double[] sig;
        if (useKarrasSigmas) {
            // Karras over the full training range (σ_max = σ_{T−1}, σ_min = σ_0), then the nearest integer timestep.
            sig = TorchMath.karras(trainSigmas[0], trainSigmas[numTrain - 1], n, 7.0);
            ts = new double[sig.length];
            for (int i = 0; i < sig.length; i++) ts[i] = Math.rint(TorchMath.sigmaToT(sig[i], logSigmas));
        } else {
            sig = new double[ts.length];
            for (int i = 0; i < ts.length; i++) sig[i] = TorchMath.interp(ts[i], trainSigmas);
        }
        float last = finalSigmasType.equals("zero") ? 0f : TrainingSchedule.sigmaOf(ac[0]);
        float[] s = new float[sig.length + 1];
        for (int i = 0; i < sig.length; i++) s[i] = (float) sig[i];
        s[sig.length] = last;
        float[] t = new float[ts.length];
        for (int i = 0; i < t.length; i++) t[i] = (float) (long) ts[i];
        newSchedule(t, s, t.length);
        this.modelOutputs = new float[solverOrder][];
        this.lowerOrderNums = 0;
    }

    @Override public float initNoiseSigma() { return 1f; }

    @Override
    public float[] scaleModelInput(float[] x, float t) {
        return x.clone();
    }

    /** diffusers' DPM-Solver variant: an unknown timestep maps to the last index instead of failing. */
    @Override
    protected int notInSchedule(float t) {
        return timesteps.length - 1;
    }

    @Override
    public StepOutput step(float[] modelOutput, float t, float[] sample, NoiseSource noise) {
        checkSameLength("modelOutput", modelOutput, "sample", sample);
        initStepIndexIfNeeded(t);
        int len = timesteps.length;
        boolean lowerOrderFinalNow = stepIndex == len - 1
                && (eulerAtFinal || (lowerOrderFinal && len < 15) || finalSigmasType.equals("zero"));
        boolean lowerOrderSecond = stepIndex == len - 2 && lowerOrderFinal && len < 15;

        float[] m = convertModelOutput(modelOutput, sample);
        for (int i = 0; i < solverOrder - 1; i++) modelOutputs[i] = modelOutputs[i + 1];
        modelOutputs[solverOrder - 1] = m;

        float[] prev;
        if (solverOrder == 1 || lowerOrderNums < 1 || lowerOrderFinalNow) {
            prev = firstOrder(m, sample);
        } else if (solverOrder == 2 || lowerOrderNums < 2 || lowerOrderSecond) {
            prev = secondOrder(sample);
        } else {
            prev = thirdOrder(sample);
        }
        if (lowerOrderNums < solverOrder) lowerOrderNums++;
        stepIndex++;
        return new StepOutput(prev, m);
    }

    /** α_t = 1/√(σ²+1) and σ_t = σ·α_t (float32), the VP coefficients of a noise level σ. */
    private static float alphaOf(float sigma) {
        return 1f / TorchMath.sqrtSigmaSqPlusOne(sigma);
    }

    private static float lambdaOf(float alphaT, float sigmaT) {
        return (float) Math.log(alphaT) - (float) Math.log(sigmaT);
    }

    /** The data prediction x0 the DPM-Solver++ update integrates. */
    private float[] convertModelOutput(float[] modelOutput, float[] sample) {
        float sigma = sigmas[stepIndex];
        float alphaT = alphaOf(sigma), sigmaT = sigma * alphaT;
        int n = sample.length;
        float[] x0 = new float[n];
        switch (predictionType) {
            case "epsilon" -> {
                for (int i = 0; i < n; i++) x0[i] = (sample[i] - sigmaT * modelOutput[i]) / alphaT;
            }
            case "v_prediction" -> {
                for (int i = 0; i < n; i++) x0[i] = alphaT * sample[i] - sigmaT * modelOutput[i];
            }
            default -> System.arraycopy(modelOutput, 0, x0, 0, n);
        }
        return x0;
    }

    private float[] firstOrder(float[] m, float[] sample) {
        float sT = sigmas[stepIndex + 1], sS = sigmas[stepIndex];
        float alphaT = alphaOf(sT), sigmaT = sT * alphaT;
        float alphaS = alphaOf(sS), sigmaS = sS * alphaS;
        float h = lambdaOf(alphaT, sigmaT) - lambdaOf(alphaS, sigmaS);
        float ratio = sigmaT / sigmaS;
        float coef = alphaT * ((float) Math.exp(-h) - 1f);
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) out[i] = ratio * sample[i] - coef * m[i];
        return out;
    }

    private float[] secondOrder(float[] sample) {
        float sT = sigmas[stepIndex + 1], sS0 = sigmas[stepIndex], sS1 = sigmas[stepIndex - 1];
        float alphaT = alphaOf(sT), sigmaT = sT * alphaT;
        float alphaS0 = alphaOf(sS0), sigmaS0 = sS0 * alphaS0;
        float alphaS1 = alphaOf(sS1), sigmaS1 = sS1 * alphaS1;
        float lambdaT = lambdaOf(alphaT, sigmaT), lambdaS0 = lambdaOf(alphaS0, sigmaS0), lambdaS1 = lambdaOf(alphaS1, sigmaS1);
        float[] m0 = modelOutputs[solverOrder - 1], m1 = modelOutputs[solverOrder - 2];
        float h = lambdaT - lambdaS0, h0 = lambdaS0 - lambdaS1;
        float r0 = h0 / h;
        float invR0 = 1f / r0;
        float ratio = sigmaT / sigmaS0;
        float expm1 = (float) Math.exp(-h) - 1f;
        float c0 = alphaT * expm1;
        int n = sample.length;
        float[] out = new float[n];
        if (solverType.equals("midpoint")) {
            float c1 = 0.5f * c0;
            for (int i = 0; i < n; i++) {
                float d1 = invR0 * (m0[i] - m1[i]);
                out[i] = ratio * sample[i] - c0 * m0[i] - c1 * d1;
            }
        } else {
            float c1 = alphaT * (expm1 / h + 1f);
            for (int i = 0; i < n; i++) {
                float d1 = invR0 * (m0[i] - m1[i]);
                out[i] = ratio * sample[i] - c0 * m0[i] + c1 * d1;
            }
        }
        return out;
    }

    private float[] thirdOrder(float[] sample) {
        float sT = sigmas[stepIndex + 1], sS0 = sigmas[stepIndex], sS1 = sigmas[stepIndex - 1], sS2 = sigmas[stepIndex - 2];
        float alphaT = alphaOf(sT), sigmaT = sT * alphaT;
        float alphaS0 = alphaOf(sS0), sigmaS0 = sS0 * alphaS0;
        float alphaS1 = alphaOf(sS1), sigmaS1 = sS1 * alphaS1;
        float alphaS2 = alphaOf(sS2), sigmaS2 = sS2 * alphaS2;
        float lambdaT = lambdaOf(alphaT, sigmaT), lambdaS0 = lambdaOf(alphaS0, sigmaS0);
        float lambdaS1 = lambdaOf(alphaS1, sigmaS1), lambdaS2 = lambdaOf(alphaS2, sigmaS2);
        float[] m0 = modelOutputs[2], m1 = modelOutputs[1], m2 = modelOutputs[0];
        float h = lambdaT - lambdaS0, h0 = lambdaS0 - lambdaS1, h1 = lambdaS1 - lambdaS2;
        float r0 = h0 / h, r1 = h1 / h;
        float invR0 = 1f / r0, invR1 = 1f / r1;
        float k1 = r0 / (r0 + r1), k2 = 1f / (r0 + r1);
        float ratio = sigmaT / sigmaS0;
        float expm1 = (float) Math.exp(-h) - 1f;
        float c0 = alphaT * expm1;
        float c1 = alphaT * (expm1 / h + 1f);
        float c2 = alphaT * ((expm1 + h) / (h * h) - 0.5f);
        int n = sample.length;
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float d10 = invR0 * (m0[i] - m1[i]);
            float d11 = invR1 * (m1[i] - m2[i]);
            float d1 = d10 + k1 * (d10 - d11);
            float d2 = k2 * (d10 - d11);
            out[i] = ratio * sample[i] - c0 * m0[i] + c1 * d1 - c2 * d2;
        }
        return out;
    }

    /** {@code α_t·x0 + σ_t·ε} at the noise level of {@code t} (index chosen as in Euler's addNoise). */
    @Override
    public float[] addNoise(float[] original, float[] noise, float t) {
        checkSameLength("original", original, "noise", noise);
        float sigma = sigmas[addNoiseIndex(t)];
        float alphaT = alphaOf(sigma), sigmaT = sigma * alphaT;
        float[] out = new float[original.length];
        for (int i = 0; i < out.length; i++) out[i] = alphaT * original[i] + sigmaT * noise[i];
        return out;
    }
}
