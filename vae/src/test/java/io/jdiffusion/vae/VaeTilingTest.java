package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.TensorAssert;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * diffusers' VAE tiling: the blend arithmetic against hand-worked values, the whole tile/blend/crop
 * algorithm against a literal port of diffusers' Python loops (bit for bit), and the real tiled
 * VAE against the untiled one (which tiling does not and cannot reproduce exactly, see below).
 */
class VaeTilingTest {
    static final Backend BE = CpuBackend.INSTANCE;
    static AutoencoderKL vae;
    /** The untiled network on one tile, memoised by input contents: several tests need the same tiles (keeps the suite fast). */
    static UnaryOperator<Tensor> decodeTile, encodeTile;

    @BeforeAll
    static void load() {
        vae = AutoencoderKL.load(Fixtures.path("sdxl-base/vae"), BE);
        decodeTile = memo(vae::decode);
        encodeTile = memo(vae::encodeMoments);
    }

    static UnaryOperator<Tensor> memo(UnaryOperator<Tensor> f) {
        Map<List<Object>, Tensor> cache = new ConcurrentHashMap<>();
        return t -> cache.computeIfAbsent(List.of(Arrays.toString(t.shape()), Arrays.hashCode(t.toFloatArray())), k -> f.apply(t));
    }

    // ---- blend_v / blend_h by hand ------------------------------------------------------------

    @Test
    void blendVByHand() {
        // a: 5 rows x 2 columns, row r holds r; b: 3 rows of 9. blend_extent 4 -> e = min(5, 3, 4) = 3,
        // weights for b's rows y = 0, 1, 2: y/3 = 0, 1/3, 2/3; a's rows used: 2, 3, 4.
        Tensor a = Tensor.of(new float[] {0, 0, 1, 1, 2, 2, 3, 3, 4, 4}, 1, 1, 5, 2);
        Tensor b = Tensor.of(new float[] {9, 9, 9, 9, 9, 9}, 1, 1, 3, 2);
        float[] r = VaeTiling.blendV(BE, a, b, 4).toFloatArray();
        // y=0: 2·1 + 9·0 = 2; y=1: 3·(2/3) + 9·(1/3) = 2 + 3 = 5; y=2: 4·(1/3) + 9·(2/3) = 4/3 + 6 = 22/3
        assertArrayEquals(new float[] {2, 2, 5, 5, 22f / 3, 22f / 3}, r, 1e-6f);

        // e = blend_extent = 2 inside a taller b: rows 0, 1 blended (weights 0, 1/2), rows 2, 3 untouched.
        Tensor b2 = Tensor.of(new float[] {10, 20, 30, 40}, 1, 1, 4, 1);
        Tensor a2 = Tensor.of(new float[] {-1, -2, 100, 200}, 1, 1, 4, 1);
        // y=0: a[2]=100; y=1: a[3]·0.5 + b[1]·0.5 = 100 + 10 = 110
        assertArrayEquals(new float[] {100, 110, 30, 40}, VaeTiling.blendV(BE, a2, b2, 2).toFloatArray());
        // extent 0: b unchanged
        assertArrayEquals(b2.toFloatArray(), VaeTiling.blendV(BE, a2, b2, 0).toFloatArray());
    }

    @Test
    void blendHByHand() {
        // 2 rows; a's columns [0, 4, 8, 12], b's columns [1, 1, 1, 1] (row 2: doubled). extent 4 -> weights 0, 1/4, 1/2, 3/4.
        Tensor a = Tensor.of(new float[] {0, 4, 8, 12, 0, 8, 16, 24}, 1, 1, 2, 4);
        Tensor b = Tensor.of(new float[] {1, 1, 1, 1, 2, 2, 2, 2}, 1, 1, 2, 4);
        float[] r = VaeTiling.blendH(BE, a, b, 4).toFloatArray();
        // row 0: x=0: 0; x=1: 4·0.75 + 1·0.25 = 3.25; x=2: 8·0.5 + 1·0.5 = 4.5; x=3: 12·0.25 + 1·0.75 = 3.75
        // row 1: 0; 8·0.75 + 2·0.25 = 6.5; 16·0.5 + 2·0.5 = 9; 24·0.25 + 2·0.75 = 7.5
        assertArrayEquals(new float[] {0, 3.25f, 4.5f, 3.75f, 0, 6.5f, 9, 7.5f}, r);
        // Channels and batch rows are blended independently with the same weights.
        Tensor a3 = Tensor.of(new float[] {4, 8, 40, 80}, 2, 1, 1, 2);
        Tensor b3 = Tensor.of(new float[] {0, 0, 0, 0}, 2, 1, 1, 2);
        assertArrayEquals(new float[] {4, 4, 40, 40}, VaeTiling.blendH(BE, a3, b3, 2).toFloatArray());
    }

    @Test
    void tileGeometryFollowsDiffusersIntegerArithmetic() {
        // SDXL defaults: 1024-pixel / 128-latent tiles -> decode stride int(128·0.75) = 96,
        // blend int(1024·0.25) = 256, keep 768; encode stride 768, blend 32, keep 96.
        VaeTiling t = new VaeTiling(1024, 128, 0.25);
        assertEquals(96, VaeTiling.stride(t.latentMinSize(), 0.25));
        assertEquals(256, VaeTiling.blendExtent(t.sampleMinSize(), 0.25));
        assertEquals(768, VaeTiling.stride(t.sampleMinSize(), 0.25));
        assertEquals(32, VaeTiling.blendExtent(t.latentMinSize(), 0.25));
        // range(0, 200, 96) = 0, 96, 192 (the last tile is 8 latents wide)
        assertArrayEquals(new int[] {0, 96, 192}, VaeTiling.starts(200, 96));
        assertArrayEquals(new int[] {0}, VaeTiling.starts(96, 96));
        // int() truncates: 10·0.75 = 7.5 -> 7; 10·0.25 = 2.5 -> 2
        assertEquals(7, VaeTiling.stride(10, 0.25));
        assertEquals(2, VaeTiling.blendExtent(10, 0.25));
        assertThrows(IllegalArgumentException.class, () -> new VaeTiling(1, 1, 0.25), "stride int(0.75) = 0 never advances");
        assertThrows(IllegalArgumentException.class, () -> new VaeTiling(64, 8, 1.0));
    }

    // ---- the algorithm, against a literal port of diffusers -----------------------------------

    /** A cheap stand-in network whose output depends on the whole tile (so tile borders matter): 2x upsample + tile mean + position. */
    static Tensor toyNet(Tensor t) {
        int b = t.dim(0), c = t.dim(1), h = t.dim(2), w = t.dim(3);
        float[] x = t.toFloatArray();
        float[] y = new float[b * c * 4 * h * w];
        for (int n = 0; n < b * c; n++) {
            double mean = 0;
            for (int i = 0; i < h * w; i++) mean += x[n * h * w + i];
            float m = (float) (mean / (h * w));
            for (int yy = 0; yy < 2 * h; yy++) {
                for (int xx = 0; xx < 2 * w; xx++) {
                    y[(n * 2 * h + yy) * 2 * w + xx] = x[(n * h + yy / 2) * w + xx / 2] * 1.5f + m + 0.01f * (yy - xx);
                }
            }
        }
        return Tensor.of(y, b, c, 2 * h, 2 * w);
    }

    @Test
    void tilingLoopEqualsLiteralPortOfDiffusersOnRaggedGrids() {
        // 13 x 10 input, tiles of 6 -> stride int(4.5) = 4: starts 0,4,8,12 (rows) and 0,4,8 (cols),
        // the last ones 1 and 2 wide; output tiles of 12 -> blend int(3.0) = 3, keep 9.
        float[] data = new float[2 * 3 * 13 * 10];
        for (int i = 0; i < data.length; i++) data[i] = (float) Math.sin(i * 0.37) * 2;
        Tensor x = Tensor.of(data, 2, 3, 13, 10);
        VaeTiling t = new VaeTiling(12, 6, 0.25);
        Tensor ours = t.run(BE, x, 6, 12, VaeTilingTest::toyNet);
        Tensor ref = diffusersTiled(x, 6, 12, 0.25, VaeTilingTest::toyNet);
        assertArrayEquals(ref.shape(), ours.shape());
        assertArrayEquals(ref.toFloatArray(), ours.toFloatArray(), "tiling loop must equal diffusers' bit for bit");
        // Overlap 0.5 and tiles larger than one side: 13 x 10 with tiles of 11 (stride 5; blend 11, keep 11).
        VaeTiling t2 = new VaeTiling(22, 11, 0.5);
        assertArrayEquals(diffusersTiled(x, 11, 22, 0.5, VaeTilingTest::toyNet).toFloatArray(),
                t2.run(BE, x, 11, 22, VaeTilingTest::toyNet).toFloatArray());
    }

    @Test
    void tiledDecodeAndEncodeEqualLiteralPortOfDiffusersWithTheRealVae() {
        Tensor z = Fixtures.tensor("vae/latents");
        VaeTiling t = forcingTwoByTwo(z.dim(2), z.dim(3));
        AutoencoderKL tiled = vae.withTiling(t);
        int[] grid = t.grid(z.dim(2), z.dim(3), t.latentMinSize());
        assertTrue(grid[0] >= 2 && grid[1] >= 2, "the test needs >= 2x2 tiles, got " + Arrays.toString(grid));

        Tensor ours = tiled.decode(z);
        Tensor ref = diffusersTiled(z, t.latentMinSize(), t.sampleMinSize(), t.overlapFactor(), decodeTile);
        assertArrayEquals(ref.shape(), ours.shape());
        assertArrayEquals(ref.toFloatArray(), ours.toFloatArray(), "tiled decode must be diffusers' tiled_decode bit for bit");

        Tensor image = Fixtures.tensor("vae/image");
        Tensor moments = tiled.encodeMoments(image);
        Tensor refMoments = diffusersTiled(image, t.sampleMinSize(), t.latentMinSize(), t.overlapFactor(), encodeTile);
        assertArrayEquals(refMoments.toFloatArray(), moments.toFloatArray(), "tiled encode must be diffusers' _tiled_encode bit for bit");
    }

    // ---- tiled vs untiled: what tiling costs ---------------------------------------------------

    /*
     * Tiled output is not the untiled output: each tile is run through the network alone, so its
     * GroupNorm statistics, its mid-block attention and the zero padding at its borders are those
     * of the tile, not of the image. Blending only cross-fades between tiles. What tiling
     * guarantees, and what these tests assert pixel by pixel, is:
     *   (1) every tiled value is a convex combination of the values the independently processed
     *       tiles covering that pixel give there (inside [min, max] of them), and a pixel covered
     *       by one tile only has exactly that tile's value;
     *   (2) hence |tiled - untiled| <= max over covering tiles of |tile - untiled| at that pixel:
     *       tiling never adds error beyond the per-tile context error it is made of.
     * Measured on tiny-sdxl (random weights; 16x16 latents, 12-latent / 96-pixel tiles, 2x2 grid):
     *   decode: max abs diff 1.70, mean abs diff 0.119, against untiled values up to |3.44|;
     *   encode (moments): max abs diff 1.15, mean abs diff 0.129 (mean channels), values up to |2.69|.
     * Random tiny weights make the per-tile statistics differ far more than the real SDXL VAE's do;
     * the global bound asserted besides (1) and (2) is therefore loose: mean abs diff below 10 % of
     * the largest untiled magnitude, and the diff must not be zero (which would mean no tiling).
     */

    @Test
    void tiledDecodeVersusUntiledDecode() {
        Tensor z = Fixtures.tensor("vae/latents");
        VaeTiling t = forcingTwoByTwo(z.dim(2), z.dim(3));
        Tensor untiled = decodeTile.apply(z);
        Tensor tiled = vae.withTiling(t).decode(z);
        assertArrayEquals(untiled.shape(), tiled.shape());
        Stats s = stats(untiled.toFloatArray(), tiled.toFloatArray());
        System.out.printf("tiled vs untiled decode (%s, grid %s): %s%n", t,
                Arrays.toString(t.grid(z.dim(2), z.dim(3), t.latentMinSize())), s);
        assertTrue(s.maxAbs > 1e-4, "2x2-tiled decode unexpectedly equals the untiled one: " + s);
        assertTrue(s.meanAbs < 0.1 * s.range, "tiled decode drifts too far from the untiled one: " + s);
        assertTiledIsBlendOfTiles(z, t.latentMinSize(), t.sampleMinSize(), t.overlapFactor(), decodeTile, untiled, tiled);
    }

    @Test
    void tiledEncodeVersusUntiledEncode() {
        Tensor image = Fixtures.tensor("vae/image");
        int f = vae.config().scaleFactor();
        VaeTiling t = forcingTwoByTwo(image.dim(2) / f, image.dim(3) / f);
        assertTrue(t.tilesImage(image.dim(2), image.dim(3)));
        Tensor untiled = encodeTile.apply(image);
        AutoencoderKL tv = vae.withTiling(t);
        Tensor tiled = tv.encodeMoments(image);
        assertArrayEquals(untiled.shape(), tiled.shape());
        int lat = vae.config().latentChannels();
        Stats s = stats(BE.narrow(untiled, 1, 0, lat).toFloatArray(), BE.narrow(tiled, 1, 0, lat).toFloatArray());
        System.out.printf("tiled vs untiled encode, posterior mean (%s): %s%n", t, s);
        assertTrue(s.maxAbs > 1e-4, "2x2-tiled encode unexpectedly equals the untiled one: " + s);
        assertTrue(s.meanAbs < 0.1 * s.range, "tiled encode drifts too far from the untiled one: " + s);
        assertTiledIsBlendOfTiles(image, t.sampleMinSize(), t.latentMinSize(), t.overlapFactor(), encodeTile, untiled, tiled);
    }

    /** Properties (1) and (2) above, pixel by pixel, with the covering tiles computed independently here. */
    static void assertTiledIsBlendOfTiles(Tensor x, int tileIn, int tileOut, double overlap, UnaryOperator<Tensor> net,
                                         Tensor untiled, Tensor tiled) {
        int stride = VaeTiling.stride(tileIn, overlap);
        int blend = VaeTiling.blendExtent(tileOut, overlap);
        // Global positions of a tile's outputs are start·tileOut/tileIn; diffusers' blend lines the
        // neighbours up correctly only when keep = tileOut - blend equals that output stride.
        assertEquals(0, (long) stride * tileOut % tileIn);
        int outStride = stride * tileOut / tileIn;
        assertEquals(tileOut - blend, outStride, "tile sizes chosen so diffusers' blend regions line up");
        int h = x.dim(2), w = x.dim(3);
        int[] shape = untiled.shape();
        int n = shape[0] * shape[1], oh = shape[2], ow = shape[3];
        float[] u = untiled.toFloatArray(), tl = tiled.toFloatArray();
        float[] lo = new float[u.length], hi = new float[u.length], worst = new float[u.length];
        int[] cover = new int[oh * ow];
        Arrays.fill(lo, Float.POSITIVE_INFINITY);
        Arrays.fill(hi, Float.NEGATIVE_INFINITY);
        for (int y0 : VaeTiling.starts(h, stride)) {
            for (int x0 : VaeTiling.starts(w, stride)) {
                Tensor in = BE.narrow(BE.narrow(x, 2, y0, Math.min(tileIn, h - y0)), 3, x0, Math.min(tileIn, w - x0));
                Tensor out = net.apply(in);
                float[] d = out.toFloatArray();
                int th = out.dim(2), tw = out.dim(3), gy = y0 * tileOut / tileIn, gx = x0 * tileOut / tileIn;
                for (int c = 0; c < n; c++) {
                    for (int yy = 0; yy < th && gy + yy < oh; yy++) {
                        for (int xx = 0; xx < tw && gx + xx < ow; xx++) {
                            int g = (c * oh + gy + yy) * ow + gx + xx;
                            float v = d[(c * th + yy) * tw + xx];
                            lo[g] = Math.min(lo[g], v);
                            hi[g] = Math.max(hi[g], v);
                            worst[g] = Math.max(worst[g], Math.abs(v - u[g]));
                            if (c == 0) cover[(gy + yy) * ow + gx + xx]++;
                        }
                    }
                }
            }
        }
        int single = 0, multi = 0;
        for (int g = 0; g < u.length; g++) {
            float slack = 1e-6f * Math.max(1f, Math.abs(tl[g]));
            int covering = cover[g % (oh * ow)];
            assertTrue(covering >= 1, "output pixel " + g + " is covered by no tile");
            if (covering == 1) {
                single++;
                assertEquals(lo[g], tl[g], 0f, "pixel " + g + " lies in one tile only and must be that tile's value");
            } else {
                multi++;
            }
            assertTrue(tl[g] >= lo[g] - slack && tl[g] <= hi[g] + slack,
                    "pixel " + g + ": tiled " + tl[g] + " outside the covering tiles' range [" + lo[g] + ", " + hi[g] + "]");
            assertTrue(Math.abs(tl[g] - u[g]) <= worst[g] + slack,
                    "pixel " + g + ": tiled error " + Math.abs(tl[g] - u[g]) + " exceeds the worst covering tile's " + worst[g]);
        }
        assertTrue(single > 0 && multi > 0, "expected both single-tile and blended pixels, got " + single + "/" + multi);
    }

    @Test
    void smallInputsAreNotTiledAndDecodeEqualsUntiled() {
        Tensor z = Fixtures.tensor("vae/latents");
        // Tiles as large as the latents: diffusers only tiles when a side exceeds the tile.
        int side = Math.max(z.dim(2), z.dim(3));
        AutoencoderKL t = vae.withTiling(VaeTiling.ofLatentTile(side, vae.config().scaleFactor()));
        assertArrayEquals(decodeTile.apply(z).toFloatArray(), t.decode(z).toFloatArray());
        // Tiling sizes outside the allowed range are refused by name.
        var e = assertThrows(IllegalArgumentException.class, () -> new VaeTiling(0, 8, 0.25));
        assertTrue(e.getMessage().contains("tile_sample_min_size"), e.getMessage());
    }

    // ---- helpers ------------------------------------------------------------------------------

    /**
     * Latent tiles of about 3/4 of the shorter latent side, rounded down to a multiple of 4 (so that
     * diffusers' blend regions line up with the tile stride): stride int(0.75·tile) is below both
     * sides, so there are >= 2 tiles per axis.
     */
    static VaeTiling forcingTwoByTwo(int h, int w) {
        int tile = Math.max(4, Math.min(h, w) * 3 / 4 / 4 * 4);
        return VaeTiling.ofLatentTile(tile, vae.config().scaleFactor());
    }

    record Stats(double maxAbs, double meanAbs, double range) {
        @Override
        public String toString() {
            return String.format("max abs diff %.4g, mean abs diff %.4g, reference max |v| %.4g", maxAbs, meanAbs, range);
        }
    }

    static Stats stats(float[] ref, float[] got) {
        double max = 0, sum = 0, range = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = Math.abs(ref[i] - got[i]);
            max = Math.max(max, d);
            sum += d;
            range = Math.max(range, Math.abs(ref[i]));
        }
        return new Stats(max, sum / ref.length, range);
    }

    /**
     * A literal port of diffusers' {@code tiled_decode}/{@code _tiled_encode} loops on plain float
     * arrays, with {@code blend_v}/{@code blend_h} mutating the tile in place as torch does.
     */
    static Tensor diffusersTiled(Tensor x, int tileIn, int tileOut, double overlapFactor, UnaryOperator<Tensor> net) {
        int overlapSize = (int) (tileIn * (1 - overlapFactor));
        int blendExtent = (int) (tileOut * overlapFactor);
        int rowLimit = tileOut - blendExtent;
        int H = x.dim(2), W = x.dim(3);
        List<List<Tile>> rows = new ArrayList<>();
        for (int i = 0; i < H; i += overlapSize) {
            List<Tile> row = new ArrayList<>();
            for (int j = 0; j < W; j += overlapSize) {
                Tensor in = BE.narrow(BE.narrow(x, 2, i, Math.min(tileIn, H - i)), 3, j, Math.min(tileIn, W - j));
                Tensor out = net.apply(in);
                row.add(new Tile(out.toFloatArray(), out.shape()));
            }
            rows.add(row);
        }
        int n = x.dim(0) * rows.get(0).get(0).shape[1];
        List<List<Tile>> crops = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            List<Tile> row = rows.get(i);
            List<Tile> cropRow = new ArrayList<>();
            for (int j = 0; j < row.size(); j++) {
                Tile tile = row.get(j);
                if (i > 0) blendV(rows.get(i - 1).get(j), tile, blendExtent, n);
                if (j > 0) blendH(row.get(j - 1), tile, blendExtent, n);
                cropRow.add(tile.crop(Math.min(rowLimit, tile.h()), Math.min(rowLimit, tile.w()), n));
            }
            crops.add(cropRow);
        }
        int outH = 0, outW = 0;
        for (List<Tile> r : crops) outH += r.get(0).h();
        for (Tile t : crops.get(0)) outW += t.w();
        int[] shape = rows.get(0).get(0).shape.clone();
        shape[2] = outH;
        shape[3] = outW;
        float[] out = new float[n * outH * outW];
        int y0 = 0;
        for (List<Tile> r : crops) {
            int x0 = 0;
            for (Tile t : r) {
                for (int c = 0; c < n; c++) {
                    for (int y = 0; y < t.h(); y++) {
                        System.arraycopy(t.data, (c * t.h() + y) * t.w(), out, (c * outH + y0 + y) * outW + x0, t.w());
                    }
                }
                x0 += t.w();
            }
            y0 += r.get(0).h();
        }
        return Tensor.of(out, shape);
    }

    record Tile(float[] data, int[] shape) {
        int h() { return shape[2]; }

        int w() { return shape[3]; }

        float at(int c, int y, int x) { return data[(c * h() + y) * w() + x]; }

        void set(int c, int y, int x, float v) { data[(c * h() + y) * w() + x] = v; }

        Tile crop(int ch, int cw, int n) {
            float[] d = new float[n * ch * cw];
            for (int c = 0; c < n; c++) for (int y = 0; y < ch; y++) for (int x = 0; x < cw; x++) d[(c * ch + y) * cw + x] = at(c, y, x);
            int[] s = shape.clone();
            s[2] = ch;
            s[3] = cw;
            return new Tile(d, s);
        }
    }

    // b[:, :, y, :] = a[:, :, -e + y, :] * (1 - y / e) + b[:, :, y, :] * (y / e)
    static void blendV(Tile a, Tile b, int extent, int n) {
        int e = Math.min(Math.min(a.h(), b.h()), extent);
        for (int y = 0; y < e; y++) {
            float wa = (float) (1 - (double) y / e), wb = (float) ((double) y / e);
            for (int c = 0; c < n; c++) for (int x = 0; x < b.w(); x++) b.set(c, y, x, a.at(c, a.h() - e + y, x) * wa + b.at(c, y, x) * wb);
        }
    }

    // b[:, :, :, x] = a[:, :, :, -e + x] * (1 - x / e) + b[:, :, :, x] * (x / e)
    static void blendH(Tile a, Tile b, int extent, int n) {
        int e = Math.min(Math.min(a.w(), b.w()), extent);
        for (int x = 0; x < e; x++) {
            float wa = (float) (1 - (double) x / e), wb = (float) ((double) x / e);
            for (int c = 0; c < n; c++) for (int y = 0; y < b.h(); y++) b.set(c, y, x, a.at(c, y, a.w() - e + x) * wa + b.at(c, y, x) * wb);
        }
    }
}
