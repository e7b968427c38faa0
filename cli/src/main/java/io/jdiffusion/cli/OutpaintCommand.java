package io.jdiffusion.cli;

import io.jdiffusion.pipelines.InpaintPipeline;
import io.jdiffusion.pipelines.MaskTools;
import io.jdiffusion.pipelines.SdModel;
import io.jdiffusion.pipelines.SdPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.SdxlPipeline;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "outpaint", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Extends an image beyond its borders: the image is placed on a larger canvas and the new area",
                "(plus --overlap pixels into the original) is painted by the inpainting pipeline."})
final class OutpaintCommand extends GenerateCommand {
    @CommandLine.Mixin
    InpaintOptions inpaint;

    @Option(names = "--extend", required = true, paramLabel = "L,T,R,B",
            description = "Pixels to add on the left, top, right and bottom (e.g. 0,0,256,0); the result must be a multiple of 8 (or see --round-to-8).")
    String extend;

    @Option(names = "--overlap", defaultValue = "0", description = "How far the painted area reaches into the original (default: ${DEFAULT-VALUE}).")
    int overlap;

    @CommandLine.Mixin
    RoundTo8Option rounding;

    @Override
    double defaultGuidance() { return InpaintPipeline.DEFAULT_GUIDANCE; }

    @Override
    SdxlPipeline<?> pipeline(SdxlModel base) { return rounded(inpaint.sdxl(base, this::applyExtents)); }

    @Override
    SdPipeline sdPipeline(SdModel model) { return rounded(inpaint.sd(model, this::applyExtents)); }

    private <P extends MaskTools<P>> P rounded(P p) {
        int[] e = extents();
        rounding.apply(p, common, inpaint.image, extend, e[0] + e[2], e[1] + e[3]);
        return p;
    }

    private void applyExtents(MaskTools<?> p) {
        int[] e = extents();
        CommonOptions.option("--extend", () -> p.outpaint(e[0], e[1], e[2], e[3], overlap));
    }

    /** --extend as four pixel counts L, T, R, B. */
    private int[] extents() {
        String[] parts = extend.split(",");
        if (parts.length != 4) throw new IllegalArgumentException("--extend: expected L,T,R,B (four pixel counts), got '" + extend + "'");
        int[] e = new int[4];
        try {
            for (int i = 0; i < 4; i++) e[i] = Integer.parseInt(parts[i].trim());
        } catch (NumberFormatException ex) {
            throw new IllegalArgumentException("--extend: expected four integers L,T,R,B, got '" + extend + "'");
        }
        return e;
    }
}
