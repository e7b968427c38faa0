package io.jdiffusion.pipelines;

import java.util.Arrays;

/**
 * The part of a schedule one pipeline call runs (diffusers' get_timesteps and the denoising_end
 * truncation, spec §6.6): which timesteps, and the begin index handed to the scheduler.
 */
record TimestepWindow(float[] timesteps, int beginIndex) {

    /** img2img/inpaint: strength, or denoising_start when given (then strength is ignored). */
    static TimestepWindow start(float[] all, int steps, double strength, Double denoisingStart, int trainTimesteps, int order) {
        int tStart;
        if (denoisingStart == null) {
            int init = Math.min((int) (steps * strength), steps);
            tStart = Math.max(steps - init, 0) * order;
        } else {
            int cutoff = (int) Math.rint(trainTimesteps - denoisingStart * trainTimesteps);
            int n = 0;
            for (float t : all) if (t < cutoff) n++;
            if (order == 2 && n % 2 == 0) n++;
            tStart = all.length - n;
        }
        return new TimestepWindow(Arrays.copyOfRange(all, tStart, all.length), tStart);
    }

    /** Keeps the timesteps at or above the denoising_end cut-off (the handoff producer's part). */
    TimestepWindow end(Double denoisingEnd, int trainTimesteps) {
        if (denoisingEnd == null) return this;
        int cutoff = (int) Math.rint(trainTimesteps - denoisingEnd * trainTimesteps);
        int count = 0;
        for (float t : timesteps) if (t >= cutoff) count++;
        return new TimestepWindow(Arrays.copyOf(timesteps, count), beginIndex);
    }
}
