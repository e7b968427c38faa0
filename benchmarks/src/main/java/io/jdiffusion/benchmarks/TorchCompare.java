package io.jdiffusion.benchmarks;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.weights.SafetensorsWeights;
import io.jdiffusion.unet.UNet2DConditionModel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The jdiffusion side of benchmarks/torch-compare/compare.py: loads {@code <folder>/unet} (the fp16
 * variant diffusers wrote) on the CPU backend, runs one forward at batch 2 for 32×32 and 64×64
 * latents on the inputs in {@code <folder>/inputs.safetensors}, writes each output as raw
 * little-endian float32 to {@code <out>/jdiffusion<side>.f32} and prints one JSON line: load and
 * forward seconds, peak RSS and the threads the backend used.
 *
 * <p>With a third argument {@code --profile}, the backend's ops are timed per op family
 * ({@link OpProfile}) and each latent size runs twice (first and second forward); the profile of
 * every forward goes to stderr.
 */
public final class TorchCompare {
    private TorchCompare() {}

    private static final int[] LATENTS = {32, 64};
    private static final float TIMESTEP = 500f;

    public static void main(String[] args) throws IOException {
        boolean profile = args.length == 3 && args[2].equals("--profile");
        if (args.length != 2 && !profile) {
            System.err.println("usage: TorchCompare <model folder with unet/ and inputs.safetensors> <output folder> [--profile]");
            System.exit(2);
        }
        Path folder = Path.of(args[0]), out = Path.of(args[1]);
        Backend be = profile ? OpProfile.wrap(CpuBackend.INSTANCE) : CpuBackend.INSTANCE;
        StringBuilder json = new StringBuilder("{\"side\": \"jdiffusion\", \"threads\": " + CpuBackend.threads()
                + ", \"gemm\": \"" + CpuBackend.gemmKernel() + "\"");
        long t0 = System.nanoTime();
        try (SafetensorsWeights inputs = SafetensorsWeights.open(folder.resolve("inputs.safetensors"));
             UNet2DConditionModel unet = UNet2DConditionModel.load(folder.resolve("unet"), be)) {
            json.append(field("load_s", seconds(t0)));
            Tensor context = inputs.tensor("context"), pooled = inputs.tensor("text_embeds");
            for (int s : LATENTS) for (int run = 0; run < (profile ? 2 : 1); run++) {
                t0 = System.nanoTime();
                long cpu0 = CPU.getProcessCpuTime();
                try (Backend.Scope scope = be.openScope()) {
                    Tensor eps = unet.forward(inputs.tensor("sample" + s), TIMESTEP, context, pooled, inputs.tensor("time_ids" + s));
                    be.synchronize();
                    json.append(field("forward" + s + "_s" + (run > 0 ? run : ""), seconds(t0)));
                    json.append(field("forward" + s + "_cpu_s" + (run > 0 ? run : ""), (CPU.getProcessCpuTime() - cpu0) / 1e9));
                    if (profile) System.err.print("forward " + s + "x" + s + " #" + (run + 1) + ":\n" + OpProfile.report(be));
                    writeFloats(out.resolve("jdiffusion" + s + ".f32"), eps.toFloatArray());
                }
            }
        }
        json.append(field("peak_rss_mib", peakRssMiB())).append('}');
        System.out.println(json);
    }

    /** CPU time of the whole process (all threads): the forward's cost less what other users' load took away. */
    private static final com.sun.management.OperatingSystemMXBean CPU =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    private static double seconds(long t0) { return (System.nanoTime() - t0) / 1e9; }

    private static String field(String name, double v) { return String.format(Locale.ROOT, ", \"%s\": %.4f", name, v); }

    private static void writeFloats(Path file, float[] v) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        Files.write(file, b.array());
    }

    /** VmHWM of /proc/self/status (Linux), NaN elsewhere. */
    private static double peakRssMiB() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) return Double.NaN;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
        return Double.NaN;
    }
}
