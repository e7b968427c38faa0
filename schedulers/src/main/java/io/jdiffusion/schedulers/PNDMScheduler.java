package io.jdiffusion.schedulers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * diffusers' {@code PNDMScheduler}, the default of the Stable Diffusion 1.x/2.x folders: integer
 * timesteps, no sigma schedule, unit {@code init_noise_sigma}, identity input scaling.
 *
 * <p>With {@code skip_prk_steps=true} (every SD config) it is PLMS: the schedule repeats its
 * second timestep ({@code n+1} entries for {@code n} steps); the first step is an Euler step, the
 * second redoes it from the same sample with the average of both model outputs, and later steps use
 * the Adams–Bashforth combination of up to four stored outputs. With {@code skip_prk_steps=false} the
 * first outputs come from Runge–Kutta warm-up steps over the last four timesteps (each timestep and
 * its half-step, 12 entries). Each step moves with formula (9) of the PNDM paper, on ᾱ in float32
 * and in diffusers' order of operations. {@code prediction_type} epsilon or v_prediction.
 *
 * <p>The step state (a counter and the stored outputs) follows the calls, not the timestep values,
 * as in diffusers.
 */
public final class PNDMScheduler extends AlphaScheduler {
    private final boolean skipPrkSteps;

    private int[] prkTimesteps, timesteps;
    // running state, reset by setTimesteps
    private int counter;
    private final List<float[]> ets = new ArrayList<>();
    private float[] curModelOutput;   // null: diffusers' integer 0
    private float[] curSample;

    public PNDMScheduler(SchedulerConfig config) {
        super(config, false, "epsilon", "v_prediction");
        this.skipPrkSteps = SchedulerConfig.or(config.skipPrkSteps(), false);
    }

    @Override
    public float[] timesteps() {
        int[] ts = scheduled(timesteps);
        float[] f = new float[ts.length];
        for (int i = 0; i < f.length; i++) f[i] = ts[i];
        return f;
    }

    @Override
    public void setTimesteps(int n) {
        checkStepCount(n);
        int numTrain = train.numTrainTimesteps;
        int[] ascending = ascendingTimesteps(n, numTrain);
        int last = ascending.length - 1;
        int[] plms;
        if (skipPrkSteps) {
            // concat(ts[:-1], ts[-2:-1], ts[-1:])[::-1]: the second-largest timestep twice
            int[] cat = new int[last == 0 ? 1 : ascending.length + 1];
            System.arraycopy(ascending, 0, cat, 0, last);
            if (last > 0) cat[last] = ascending[last - 1];
            cat[cat.length - 1] = ascending[last];
            plms = reversed(cat);
            prkTimesteps = new int[0];
        } else {
            // the last four timesteps and their half-steps, each Runge–Kutta stage at its own time
            int order = 4, half = numTrain / n / 2;
            int[] tail = Arrays.copyOfRange(ascending, Math.max(ascending.length - order, 0), ascending.length);
            int[] withHalf = new int[tail.length * 2];
            for (int i = 0; i < tail.length; i++) {
                withHalf[2 * i] = tail[i];
                withHalf[2 * i + 1] = tail[i] + half;
            }
            // prk_timesteps[:-1].repeat(2)[1:-1][::-1]
            int m = withHalf.length - 1;
            int[] doubled = new int[Math.max(2 * m - 2, 0)];
            for (int i = 0; i < doubled.length; i++) doubled[i] = withHalf[(i + 1) / 2];
            prkTimesteps = reversed(doubled);
            plms = reversed(Arrays.copyOfRange(ascending, 0, Math.max(ascending.length - 3, 0)));
            if (prkTimesteps.length == 0) {
                throw new IllegalArgumentException("PNDMScheduler with skip_prk_steps=false needs at least 2 inference steps, got " + n);
            }
        }
        timesteps = new int[prkTimesteps.length + plms.length];
        System.arraycopy(prkTimesteps, 0, timesteps, 0, prkTimesteps.length);
        System.arraycopy(plms, 0, timesteps, prkTimesteps.length, plms.length);
        numInferenceSteps = n;
        counter = 0;
        ets.clear();
        curModelOutput = null;
        curSample = null;
    }

    /** diffusers' {@code _timesteps}, smallest first. */
    private int[] ascendingTimesteps(int n, int numTrain) {
        int[] ts = new int[n];
        switch (timestepSpacing) {
            case "linspace" -> {
                double[] l = TorchMath.npLinspace(0, numTrain - 1, n);
                for (int i = 0; i < n; i++) ts[i] = (int) Math.rint(l[i]);
            }
            case "leading" -> {
                int ratio = numTrain / n;
                for (int i = 0; i < n; i++) ts[i] = i * ratio + stepsOffset;
            }
            default -> {
                double[] a = TorchMath.npArange(numTrain, 0, -((double) numTrain / n));
                ts = new int[a.length];
                for (int i = 0; i < a.length; i++) ts[i] = (int) Math.rint(a[a.length - 1 - i]) - 1;
            }
        }
        return ts;
    }

    private static int[] reversed(int[] a) {
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[a.length - 1 - i];
        return r;
    }

    @Override
    public StepOutput step(float[] modelOutput, float t, float[] sample, NoiseSource noise) {
        checkStep(modelOutput, sample);
        int timestep = integralTimestep(t);
        float[] prev = counter < prkTimesteps.length && !skipPrkSteps
                ? stepPrk(modelOutput, timestep, sample)
                : stepPlms(modelOutput, timestep, sample);
        counter++;
        return new StepOutput(prev, null);
    }

    /** One Runge–Kutta stage: weights 1/6, 1/3, 1/3, 1/6 of the four outputs, all from the stage's first sample. */
    private float[] stepPrk(float[] modelOutput, int t, float[] sample) {
        int diffToPrev = counter % 2 != 0 ? 0 : train.numTrainTimesteps / numInferenceSteps / 2;
        int prevTimestep = t - diffToPrev;
        int timestep = prkTimesteps[counter / 4 * 4];
        float[] output = modelOutput;
        switch (counter % 4) {
            case 0 -> {
                curModelOutput = accumulate(curModelOutput, (float) (1.0 / 6), modelOutput);
                ets.add(modelOutput);
                curSample = sample;
            }
            case 1, 2 -> curModelOutput = accumulate(curModelOutput, (float) (1.0 / 3), modelOutput);
            default -> {
                output = accumulate(curModelOutput, (float) (1.0 / 6), modelOutput);
                curModelOutput = null;
            }
        }
        return prevSample(curSample != null ? curSample : sample, timestep, prevTimestep, output);
    }

    /** {@code acc + w·x} in float32 (acc null: diffusers' integer 0, so exactly {@code w·x}). */
    private static float[] accumulate(float[] acc, float w, float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = acc == null ? w * x[i] : acc[i] + w * x[i];
        return out;
    }

    /** One linear multistep (Adams–Bashforth) step; see the class comment for the first two. */
    private float[] stepPlms(float[] modelOutput, int t, float[] sample) {
        if (!skipPrkSteps && ets.size() < 3) {
            throw new IllegalStateException("PNDMScheduler: the linear multistep steps follow at least 12 Runge-Kutta steps");
        }
        int ratio = train.numTrainTimesteps / numInferenceSteps;
        int timestep = t, prevTimestep = t - ratio;
        if (counter != 1) {
            while (ets.size() > 3) ets.removeFirst();
            ets.add(modelOutput);
        } else {
            prevTimestep = t;
            timestep = t + ratio;
        }
        int n = modelOutput.length, k = ets.size();
        float[] out = new float[n];
        if (k == 1 && counter == 0) {
            System.arraycopy(modelOutput, 0, out, 0, n);
            curSample = sample;
        } else if (k == 1 && counter == 1) {
            float[] e1 = ets.get(0);
            for (int i = 0; i < n; i++) out[i] = (modelOutput[i] + e1[i]) / 2f;
            sample = curSample;
            curSample = null;
        } else if (k == 2) {
            float[] e1 = ets.get(1), e2 = ets.get(0);
            for (int i = 0; i < n; i++) out[i] = (3f * e1[i] - e2[i]) / 2f;
        } else if (k == 3) {
            float[] e1 = ets.get(2), e2 = ets.get(1), e3 = ets.get(0);
            for (int i = 0; i < n; i++) out[i] = (23f * e1[i] - 16f * e2[i] + 5f * e3[i]) / 12f;
        } else {
            float[] e1 = ets.get(3), e2 = ets.get(2), e3 = ets.get(1), e4 = ets.get(0);
            float w = (float) (1.0 / 24);
            for (int i = 0; i < n; i++) out[i] = w * (55f * e1[i] - 59f * e2[i] + 37f * e3[i] - 9f * e4[i]);
        }
        return prevSample(sample, timestep, prevTimestep, out);
    }

    /** Formula (9) of the PNDM paper: x_{t−δ} = √(ᾱ_prev/ᾱ_t)·x − (ᾱ_prev − ᾱ_t)·ε / (ᾱ_t·√(1−ᾱ_prev) + √(ᾱ_t(1−ᾱ_t)ᾱ_prev)). */
    private float[] prevSample(float[] sample, int timestep, int prevTimestep, float[] modelOutput) {
        float alphaProdT = alphaCumprodAt(timestep);
        float alphaProdPrev = prevTimestep >= 0 ? alphaCumprodAt(prevTimestep) : finalAlphaCumprod;
        float betaProdT = 1f - alphaProdT, betaProdPrev = 1f - alphaProdPrev;
        int n = sample.length;
        float[] eps = modelOutput;
        if (predictionType.equals("v_prediction")) {
            float sa = (float) Math.sqrt(alphaProdT), sb = (float) Math.sqrt(betaProdT);
            eps = new float[n];
            for (int i = 0; i < n; i++) eps[i] = sa * modelOutput[i] + sb * sample[i];
        }
        float sampleCoeff = (float) Math.sqrt(alphaProdPrev / alphaProdT);
        float denom = alphaProdT * (float) Math.sqrt(betaProdPrev) + (float) Math.sqrt(alphaProdT * betaProdT * alphaProdPrev);
        float diff = alphaProdPrev - alphaProdT;
        float[] prev = new float[n];
        for (int i = 0; i < n; i++) prev[i] = sampleCoeff * sample[i] - diff * eps[i] / denom;
        return prev;
    }
}
