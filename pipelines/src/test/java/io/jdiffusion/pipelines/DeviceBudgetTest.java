package io.jdiffusion.pipelines;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jdiffusion.pipelines.checkpoint.BuiltinConfigs;
import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Device;
import io.jdiffusion.tensor.Storage;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.vae.VaeConfig;
import io.jdiffusion.vae.VaeTiling;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device budget on the CPU, with a backend that plays a device: every tensor it uploads (how
 * weights reach a backend) is a copy whose bytes count as in use until it is closed.
 */
class DeviceBudgetTest {

    /** Bytes of live uploaded tensors and their peak. */
    static final class Accounting {
        final AtomicLong inUse = new AtomicLong(), peak = new AtomicLong();
        final Set<Object> live = java.util.Collections.synchronizedSet(new HashSet<>());
    }

    /** A storage that counts its bytes until released (once). */
    record Counted(Storage inner, long bytes, Accounting acc, AtomicBoolean released) implements Storage {
        @Override public Device device() { return Device.CPU; }
        @Override public DType dtype() { return inner.dtype(); }
        @Override public long length() { return inner.length(); }

        @Override
        public void readFloats(long offset, float[] dst, int dstOffset, int count) {
            if (released.get()) throw new IllegalStateException("read of a released tensor");
            inner.readFloats(offset, dst, dstOffset, count);
        }

        @Override
        public void release() {
            if (released.compareAndSet(false, true)) acc.inUse.addAndGet(-bytes);
        }
    }

    static Backend accounting(Accounting acc) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(),
                new Class<?>[] {Backend.class}, (proxy, m, args) -> {
                    switch (m.getName()) {
                        case "memoryUse" -> { return Optional.of(new Backend.MemoryStats(acc.inUse.get(), acc.peak.get(), acc.inUse.get(), acc.peak.get())); }
                        case "resetPeakMemory" -> { acc.peak.set(acc.inUse.get()); return null; }
                        case "upload" -> {
                            if (args.length == 2) {
                                Tensor t = (Tensor) args[0];
                                long bytes = t.numel() * ((DType) args[1]).byteSize();
                                long now = acc.inUse.addAndGet(bytes);
                                acc.peak.accumulateAndGet(now, Math::max);
                                return new Tensor(new Counted(t.storage(), bytes, acc, new AtomicBoolean()), t.offset(), t.shape());
                            }
                        }
                        default -> { }
                    }
                    try {
                        return m.invoke(CpuBackend.INSTANCE, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    record Run(float[] pixels, DeviceBudget budget, List<List<String>> residentAtSteps, long peak) {}

    /** A 4-step inpainting run of the fixture base + refiner, with the budget made by {@code budget} (or none). */
    static Run inpaint(java.util.function.Function<Backend, DeviceBudget> budget) {
        Accounting acc = new Accounting();
        Backend be = accounting(acc);
        List<List<String>> resident = new ArrayList<>();
        try (SdxlModel base = SdxlModel.load(Fixtures.path("sdxl-base").toString(), null, be);
             SdxlModel refiner = SdxlModel.load(Fixtures.path("sdxl-refiner").toString(), null, be);
             InpaintPipeline pipe = InpaintPipeline.of(base)) {
            DeviceBudget b = budget.apply(be);
            pipe.refiner(refiner).highNoiseFraction(0.5).prompt("a red vase").negativePrompt("blurry")
                    .image(ImageFiles.read(Fixtures.path("init.png"))).mask(ImageFiles.read(Fixtures.path("mask.png")))
                    .steps(4).seed(3).deviceBudget(b)
                    .onStep((i, n, t, x) -> resident.add(pipe.deviceBudget() == null ? List.of() : pipe.deviceBudget().residentNames()));
            GenerationResult r = pipe.run();
            DeviceBudget used = b != null ? b : base.deviceBudget();
            return new Run(r.nhwc01(), used, resident, acc.peak.get());
        }
    }

    @Test
    void underABudgetOneComponentIsResidentAtATimeAndTheImageIsBitIdentical() {
        Run free = inpaint(be -> null);
        // the component sizes, as the unlimited run loaded them
        long biggest = 0, total = 0;
        for (DeviceBudget.Event e : free.budget().events()) {
            if (e.kind().equals("load")) {
                biggest = Math.max(biggest, e.bytes());
                total += e.bytes();
            }
        }
        assertTrue(biggest > 0 && total > biggest, "components have device bytes: biggest " + biggest + " of " + total);
        // Exactly one component fits beside the headroom, and the headroom is what the whole image's VAE
        // activations take: the plan keeps the VAE untiled (tiling would change the image, by design),
        // whatever the fixture set's image size and VAE widths.
        long headroom = UntiledVaeBudget.activationBytesAtInitImageSize();
        long limit = biggest + headroom;
        Run tight = inpaint(be -> new DeviceBudget(be, limit, headroom));

        assertTrue(tight.budget().events().stream().noneMatch(e -> e.kind().startsWith("tile")),
                "the VAE's activations fit, so it does not tile: " + tight.budget().events());
        assertArrayEquals(free.pixels(), tight.pixels(), "the budget changes where weights live, not one bit of the image");
        for (DeviceBudget.Event e : tight.budget().events()) {
            if (e.kind().equals("load")) {
                assertEquals(e.bytes(), e.residentAfter(), "after loading " + e.component() + " nothing else is resident");
            }
        }
        assertTrue(tight.peak() <= biggest, "device bytes in use peaked at " + tight.peak() + ", one component's worth at most (" + biggest + ")");
        assertTrue(free.peak() > tight.peak(), "without a budget more was resident: " + free.peak() + " against " + tight.peak());
        assertEquals(tight.peak(), tight.budget().peakDeviceBytes(), "the budget reports the backend's own peak");
        for (List<String> r : tight.residentAtSteps()) assertEquals(1, r.size(), "during a step only the UNet is resident: " + r);
        // base: text, VAE (encode), UNet, [refiner] text, VAE, UNet, VAE (decode): reloads happened
        long loads = tight.budget().events().stream().filter(e -> e.kind().equals("load")).count();
        long freeLoads = free.budget().events().stream().filter(e -> e.kind().equals("load")).count();
        assertTrue(loads > freeLoads, loads + " loads under the budget, " + freeLoads + " without");
        assertTrue(tight.budget().summary().contains("budget"), tight.budget().summary());
    }

    /**
     * When the budget is too small for the whole image's VAE activations the VAE tiles, which changes the
     * image (diffusers' tiling does too). What stays guaranteed: the denoising is bit-identical, and the
     * image is exactly the tiled VAE's decode of those latents, with the tiling the budget reports.
     */
    @Test
    void whenTheVaeMustTileTheLatentsAreBitIdenticalAndTheImageIsTheTiledDecode() {
        java.util.function.Function<Long, Object[]> run = limit -> {
            List<float[]> steps = new ArrayList<>();
            try (SdxlModel base = SdxlModel.load(Fixtures.path("sdxl-base").toString(), null, CpuBackend.INSTANCE);
                 Text2ImagePipeline pipe = Text2ImagePipeline.of(base)) {
                DeviceBudget b = limit == null ? null : new DeviceBudget(CpuBackend.INSTANCE, limit, 0);
                io.jdiffusion.pipelines.image.Image init = ImageFiles.read(Fixtures.path("init.png")); // the set's (maybe non-square) size
                pipe.prompt("a red vase").steps(2).seed(4).size(init.width(), init.height()).deviceBudget(b)
                        .onStep((i, n, t, x) -> steps.add(x.clone()));
                GenerationResult r = pipe.run();
                String tile = b == null ? null : b.events().stream().map(DeviceBudget.Event::kind).filter(k -> k.startsWith("tile ")).findFirst().orElse(null);
                float[] expected = null;
                if (tile != null) { // decode the last latents with the reported tiling, as the pipeline's last stage does
                    int t = Integer.parseInt(tile.substring(5, tile.indexOf('x')));
                    io.jdiffusion.vae.AutoencoderKL vae = base.vae();
                    io.jdiffusion.vae.AutoencoderKL tiled = vae.withTiling(VaeTiling.ofLatentTile(t, vae.config().scaleFactor()));
                    int[] shape = {1, 4, r.shape()[1] / vae.config().scaleFactor(), r.shape()[2] / vae.config().scaleFactor()};
                    Tensor z = Tensor.of(Latents.scale(steps.getLast(), 1f / vae.config().scalingFactor()), shape);
                    expected = io.jdiffusion.pipelines.image.ImageProcessor.postprocessNp(tiled.decode(z)).toFloatArray();
                }
                return new Object[] {steps, r.nhwc01(), tile, expected};
            }
        };
        Object[] free = run.apply(null), tight = run.apply(1L);
        assertTrue(tight[2] != null, "a 1-byte budget cannot hold the VAE's activations: the VAE tiles");
        @SuppressWarnings("unchecked") List<float[]> a = (List<float[]>) free[0], b = (List<float[]>) tight[0];
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), b.get(i), "step " + i + " latents under the budget");
        assertArrayEquals((float[]) tight[3], (float[]) tight[1], "the image is the " + tight[2] + " decode of the latents");
    }

    @Test
    void theVaeTilesOnlyWhenItsActivationsCannotFit() throws Exception {
        VaeConfig cfg = VaeConfig.fromJson(new ObjectMapper().readTree(BuiltinConfigs.folder(Layout.BASE).resolve("vae/config.json").toFile()));
        Backend f16 = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (p, m, a) -> m.getName().equals("computeType") ? DType.F16 : m.invoke(CpuBackend.INSTANCE, a));
        // 1024² (128² latents), F16 activations: 4 × 256 channels × 1024² pixels × 2 bytes = 2 GiB
        assertEquals(2L << 30, DeviceBudget.vaeActivationBytes(cfg, 128, 128, 2));
        DeviceBudget roomy = new DeviceBudget(f16, 8L << 30, 1L << 30);
        var slot = roomy.slot("vae", () -> "loaded", null);
        slot.get();
        assertNull(roomy.vaeTiling(cfg, 128, 128, slot), "2 GiB of activations fit in 8 GiB");
        // 1 GiB: tiles of t latents need 4·256·(8t)²·2 = 131072·t² bytes: t = 96 needs 1.125 GiB, t = 64 0.5 GiB
        DeviceBudget small = new DeviceBudget(f16, 1L << 30, 0);
        var s2 = small.slot("vae", () -> "loaded", null);
        s2.get();
        VaeTiling t = small.vaeTiling(cfg, 128, 128, s2);
        assertEquals(VaeTiling.ofLatentTile(64, 8), t);
        assertTrue(small.summary().contains("tile 64x64"), small.summary());
        assertThrows(IllegalArgumentException.class, () -> new DeviceBudget(f16, -1, 0));
        assertThrows(IllegalArgumentException.class, () -> new DeviceBudget(f16, 100, 100));
    }
}
