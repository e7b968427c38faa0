package io.jdiffusion.runs;

import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.tensor.Backend;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The tutorial's dataset on the fixture models, made once per test JVM: three photos (astronaut.png
 * is the fixture's init.png, coffee.png its negative, cat.png its mirror image with a mirrored mask),
 * each inpainted with refiner off / on (at 0.5) × dilation off / 3x1, seed 1, 4 steps: 12 runs.
 */
final class ThreePhotos {
    static final List<String> PHOTOS = List.of("astronaut.png", "coffee.png", "cat.png");

    private static Path dir;
    private static List<RunRecord> runs;

    private ThreePhotos() {}

    /** The store with the 12 runs (a fresh folder, deleted when the JVM exits). */
    static synchronized Path store() {
        if (dir != null) return dir;
        try {
            Path d = Files.createTempDirectory("jdiffusion-three-photos-");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> TinySweep.deleteTree(d)));
            Image init = ImageFiles.read(TinySweep.image()).toRgb(), mask = ImageFiles.read(TinySweep.mask());
            Path photos = Files.createDirectories(d.resolve("photos"));
            Map<String, Image> images = Map.of("astronaut.png", init, "coffee.png", negative(init), "cat.png", mirror(init));
            Backend b = TinySweep.backend();
            RunStore store = RunStore.open(d.resolve("store"));
            List<RunRecord> all = new ArrayList<>();
            try (SdxlModel base = SdxlModel.load(TinySweep.base().toString(), null, b);
                 SdxlModel refiner = SdxlModel.load(TinySweep.refiner().toString(), null, b)) {
                for (String name : PHOTOS) {
                    Path image = photos.resolve(name);
                    ImageFiles.writePng(image, images.get(name), Map.of());
                    Path maskFile = photos.resolve(name.equals("cat.png") ? "cat-mask.png" : "mask.png");
                    if (!Files.exists(maskFile)) ImageFiles.writePng(maskFile, name.equals("cat.png") ? mirror(mask) : mask, Map.of());
                    all.addAll(Sweep.inpaint(base, image, maskFile).refinerModel(refiner).prompt("a red vase on a table").steps(4)
                            .seeds(1).refinerFractions(null, 0.5).dilations(null, new Sweep.Dilation(3, 1))
                            .run(store, "photos", List.of("dataset")));
                }
            }
            runs = all;
            dir = d.resolve("store");
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static synchronized List<RunRecord> runs() {
        store();
        return runs;
    }

    /** The runs of one photo. */
    static List<RunRecord> of(String photo) {
        return runs().stream().filter(r -> r.inputs().get("image").original().endsWith("/" + photo)).toList();
    }

    private static Image negative(Image im) {
        byte[] d = im.data().clone();
        for (int i = 0; i < d.length; i++) d[i] = (byte) (255 - (d[i] & 0xFF));
        return new Image(im.width(), im.height(), im.channels(), d);
    }

    private static Image mirror(Image im) {
        byte[] d = new byte[im.data().length];
        int c = im.channels();
        for (int y = 0; y < im.height(); y++) {
            for (int x = 0; x < im.width(); x++) {
                System.arraycopy(im.data(), (y * im.width() + x) * c, d, (y * im.width() + im.width() - 1 - x) * c, c);
            }
        }
        return new Image(im.width(), im.height(), c, d);
    }
}
