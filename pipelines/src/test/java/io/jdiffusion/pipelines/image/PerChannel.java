package io.jdiffusion.pipelines.image;

import java.util.Random;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The check that an image operation treats each channel on its own, as PIL does for RGB. */
final class PerChannel {
    private PerChannel() {}

    /** {@code op} on a random RGB image equals {@code op} on each of its channels. */
    static void assertIndependent(long seed, int width, int height, UnaryOperator<Image> op) {
        Random rnd = new Random(seed);
        int[] s = new int[width * height * 3];
        for (int i = 0; i < s.length; i++) s[i] = rnd.nextInt(256);
        Image rgb = Image.ofSamples(width, height, 3, s);
        Image out = op.apply(rgb);
        for (int c = 0; c < 3; c++) assertEquals(op.apply(rgb.channel(c)), out.channel(c), "channel " + c);
    }
}
